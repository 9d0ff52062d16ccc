// Part of `npm run lint`: no line of src/ over 120 characters (the formatter wraps code; this
// catches long strings and comments it leaves alone).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync('git', ['ls-files', 'src/*.ts'], { encoding: 'utf8' }).split('\n').filter(Boolean);
const long = files.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (line.length > MAX ? [`${file}:${i + 1}: ${line.length} characters`] : [])),
);
if (long.length > 0) {
  console.error(`lines over ${MAX} characters in src/:\n${long.join('\n')}`);
  process.exit(1);
}
