/**
 * What the OTLP decoders need to know, prepared once per service: which events matter and which
 * attribute values to decode (the rest are skipped, however large or deeply nested).
 */
import { Buffer } from 'node:buffer';
import { ATTR_FLAGSYNC_CALL_ID } from '../conventions.js';
import type { Converter } from '../convert/converter.js';

/** Attribute names to decode; the protobuf decoder matches keys as bytes, without decoding them. */
export class WantedKeys {
  readonly names: ReadonlySet<string>;
  private readonly _byLength = new Map<number, { name: string; bytes: Buffer }[]>();

  constructor(names: Iterable<string>) {
    this.names = new Set(names);
    for (const name of this.names) {
      const bytes = Buffer.from(name, 'utf8');
      const list = this._byLength.get(bytes.length) ?? [];
      list.push({ name, bytes });
      this._byLength.set(bytes.length, list);
    }
  }

  /** The wanted name the UTF-8 bytes buf[start, end) spell, or undefined. */
  match(buf: Uint8Array, start: number, end: number): string | undefined {
    const candidates = this._byLength.get(end - start);
    if (!candidates) return undefined;
    outer: for (const { name, bytes } of candidates) {
      for (let i = 0; i < bytes.length; i++) if (buf[start + i] !== bytes[i]) continue outer;
      return name;
    }
    return undefined;
  }
}

export interface DecodeFilter {
  isCandidateName(name: string): boolean;
  /** Span event attributes the converter reads. */
  readonly eventAttributes: WantedKeys;
  /** Log record attributes and body fields: the converter's, and flagsync.call_id for identities. */
  readonly logAttributes: WantedKeys;
  /** With derived-event rules: the span attributes they read; spans are then decoded too. */
  readonly spanAttributes: WantedKeys | undefined;
}

export function createDecodeFilter(
  converter: Pick<Converter, 'isCandidateName' | 'attributeNames'>,
  spanAttributeNames?: ReadonlySet<string>,
): DecodeFilter {
  return {
    isCandidateName: converter.isCandidateName,
    eventAttributes: new WantedKeys(converter.attributeNames),
    logAttributes: new WantedKeys([...converter.attributeNames, ATTR_FLAGSYNC_CALL_ID]),
    spanAttributes: spanAttributeNames ? new WantedKeys(spanAttributeNames) : undefined,
  };
}
