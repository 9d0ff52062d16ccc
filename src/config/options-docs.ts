/**
 * Documentation generated from the option schema: the README's and docs/collector.md's option
 * tables (scripts/generate-docs.mjs writes them; test/unit/options.test.ts fails when they drift).
 */
import { OPTIONS, type OptionSpec } from './options.js';

type Scope = OptionSpec['scope'];

function defaultText(spec: OptionSpec): string {
  if (spec.required) return 'required';
  if (spec.defaultText) return spec.defaultText;
  if (spec.default === undefined) return '—';
  return typeof spec.default === 'number' && /Millis$/.test(spec.name) ? `${spec.default} ms` : String(spec.default);
}

/** A markdown table of the options of these scopes: option, environment variable, default, meaning. */
function optionsMarkdown(scopes: readonly Scope[]): string {
  const rows = OPTIONS.filter((o) => scopes.includes(o.scope)).map(
    (o) => `| \`${o.name}\` | ${o.env ? `\`${o.env}\`` : '—'} | ${defaultText(o)} | ${o.doc} |`,
  );
  return ['| option | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The blocks of a document the generator owns: `<!-- options:scope,scope -->` ... `<!-- /options -->`. */
const BLOCK = /(<!-- options:([a-z,]+) -->)[\s\S]*?(<!-- \/options -->)/g;

/** The document with every options block regenerated. */
export function withGeneratedOptions(text: string): string {
  return text.replace(
    BLOCK,
    (_all, open: string, scopes: string, close: string) =>
      `${open}\n${optionsMarkdown(scopes.split(',') as Scope[])}\n${close}`,
  );
}
