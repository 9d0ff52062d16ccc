// Regenerates the option tables of README.md and docs/collector.md from the option schema
// (src/config/options.ts). Run after the build: npm run docs. test/unit/options.test.ts fails
// when the committed tables drift from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withGeneratedOptions } from '../dist/internal.js';

for (const file of ['README.md', 'docs/collector.md']) {
  const url = new URL(`../${file}`, import.meta.url);
  const text = readFileSync(url, 'utf8');
  const generated = withGeneratedOptions(text);
  if (generated !== text) writeFileSync(url, generated);
  console.log(`${file}: ${generated === text ? 'up to date' : 'regenerated'}`);
}
