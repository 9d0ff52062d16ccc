/**
 * The same rules on both sides: derived-event rule patterns are RE2, with the same verdicts and
 * matches as the Go component's regexp (testdata/golden/rules/regex.json is read by both), matched in
 * linear time; JSON texts nest at most as deep as Go's encoding/json takes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../src/convert/derived-rules.js';
import { MAX_JSON_DEPTH, parseJsonText, toJsonText } from '../../src/convert/json.js';

const golden = JSON.parse(readFileSync(new URL('../../testdata/golden/rules/regex.json', import.meta.url), 'utf8')) as {
  cases: { pattern: string; valid: boolean; matches?: Record<string, boolean> }[];
};

describe('rule patterns (RE2)', () => {
  it.each(golden.cases.map((c) => [c.pattern, c] as const))('%s', (_p, c) => {
    if (!c.valid) {
      expect(() => compilePattern(c.pattern, 'match.spanNameRegex')).toThrow(
        'match.spanNameRegex is not a valid RE2 regular expression',
      );
      return;
    }
    const pattern = compilePattern(c.pattern, 'match.spanNameRegex');
    for (const [input, expected] of Object.entries(c.matches ?? {})) expect(pattern.test(input), input).toBe(expected);
  });

  it('a pattern a backtracking engine takes exponential time on is matched by reading the text once', () => {
    // JavaScript's RegExp would not return from this within the test's timeout.
    const pattern = compilePattern('(a+)+$', 'match.spanNameRegex');
    expect(pattern.test(`${'a'.repeat(100_000)}b`)).toBe(false);
    expect(pattern.test(`b${'a'.repeat(100_000)}`)).toBe(true);
  });
});

describe('JSON nesting depth, the same limit as Go encoding/json', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  it('takes 10,000 levels and refuses 10,001, as the Go component does', () => {
    expect(parseJsonText(nested(MAX_JSON_DEPTH)).ok).toBe(true);
    expect(parseJsonText(nested(MAX_JSON_DEPTH + 1)).ok).toBe(false);
    expect(parseJsonText(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`).ok).toBe(true);
    expect(parseJsonText(`{"a":${nested(MAX_JSON_DEPTH)}}`).ok).toBe(false);
    // Brackets inside strings are text, not nesting.
    expect(parseJsonText(JSON.stringify('['.repeat(30_000))).ok).toBe(true);
  });

  it("the instrumentation writes no deeper text: such a call stays the SDK's", () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = { k: deep };
    expect(toJsonText(deep)).toBeUndefined();
    expect(toJsonText({ k: [1, { a: null }] })).toBe('{"k":[1,{"a":null}]}');
  });
});
