/**
 * The integrity marker `flagsync.size`, computed the same way where events are written and where
 * they are converted (and in the Go component). Attribute limits truncate strings and drop
 * attributes, both of which only lower the total, so a mismatch means the event was damaged.
 */
import { ATTR_FLAGSYNC_SIZE, SIZED_ATTRIBUTE_NAMES } from '../conventions.js';

const SIZED = new Set(SIZED_ATTRIBUTE_NAMES);

/** 1 per attribute present, plus the UTF-16 length of string values (what JS limits truncate by). */
export function payloadSize(attributes: Readonly<Record<string, unknown>>): number {
  let size = 0;
  // Walks the event's own few keys: half the cost of looking up every sized name in objects of many shapes.
  for (const name in attributes) {
    if (!SIZED.has(name)) continue;
    const value = attributes[name];
    if (value === undefined || value === null) continue;
    size += typeof value === 'string' ? value.length + 1 : 1;
  }
  return size;
}

/** True when the attributes carry no size marker (other emitters) or one that matches. */
export function isIntact(attributes: Readonly<Record<string, unknown>>): boolean {
  const declared = attributes[ATTR_FLAGSYNC_SIZE];
  return declared === undefined || declared === payloadSize(attributes);
}
