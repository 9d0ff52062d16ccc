/** JSON helpers used on both sides of the conversion. */
import type { JsonValue } from '../types.js';

/**
 * JSON text of a value, or undefined when it cannot be serialised (cycles, BigInt) or nests deeper
 * than the converters take (MAX_JSON_DEPTH): such a call is left to the SDK, never handed to a
 * pipeline that would refuse it.
 */
export function toJsonText(value: unknown): string | undefined {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return undefined;
  }
  return text !== undefined && withinJsonDepth(text) ? text : undefined;
}

/**
 * The deepest nesting of arrays and objects either side takes (Go's encoding/json refuses deeper
 * text; JSON.parse would take it): one limit, so both converters give the same verdict.
 */
export const MAX_JSON_DEPTH = 10_000;

/** True when the JSON text nests no deeper than MAX_JSON_DEPTH (only a long text can be deeper). */
function withinJsonDepth(text: string): boolean {
  if (text.length <= MAX_JSON_DEPTH * 2) return true;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}

/** Parse JSON text; undefined when the text is not valid JSON or nests deeper than MAX_JSON_DEPTH. */
export function parseJsonText(text: string): { ok: true; value: JsonValue } | { ok: false } {
  if (!withinJsonDepth(text)) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch {
    return { ok: false };
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
