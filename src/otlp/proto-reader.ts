import { Buffer, isUtf8 } from 'node:buffer';
/**
 * A minimal protobuf wire-format reader: just what decoding OTLP needs. Throws ProtoError on any
 * malformed input (truncation, bad wire type, lengths past the end), never reads out of bounds.
 */

export class ProtoError extends Error {
  override name = 'ProtoError';
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

export class ProtoReader {
  pos: number;
  /** Bounds of the last length-delimited payload read by `skipLen()` (no object per field). */
  lenStart = 0;
  lenEnd = 0;
  private readonly _view: DataView;

  /** `view` is shared with sub-readers: one DataView per message, not per field. */
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    public end = buf.length,
    view?: DataView,
  ) {
    this.pos = start;
    this._view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A reader over [start, end) of the same buffer. */
  at(start: number, end: number): ProtoReader {
    return new ProtoReader(this.buf, start, end, this._view);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Field number and wire type of the next field. */
  tag(): { field: number; wire: number } {
    const tag = this.rawTag();
    return { field: tag >>> 3, wire: tag & 7 };
  }

  /** The next tag as one number (field << 3 | wire): the hot paths avoid an object per field. */
  rawTag(): number {
    const tag = this.varint();
    if (tag >>> 3 === 0) throw new ProtoError('field number 0');
    return tag;
  }

  /** Move past a length-delimited payload, leaving its bounds in lenStart/lenEnd. */
  skipLen(): void {
    const length = this.varint();
    this._need(length);
    this.lenStart = this.pos;
    this.pos += length;
    this.lenEnd = this.pos;
  }

  /** A varint as a number; exact up to 2^53, which covers every length and enum here. */
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /**
   * A varint as a signed 64-bit integer: a number when that is exact, else a bigint. The number read
   * comes first: below 2^53 it is exact and the int64 is non-negative, so no BigInt is made.
   */
  int64(): number | bigint {
    const start = this.pos;
    const small = this.varint();
    if (small <= Number.MAX_SAFE_INTEGER) return small;
    this.pos = start;
    const big = this.varintBigInt();
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }

  /** A varint as a signed 64-bit integer (two's complement), as a bigint. */
  varintBigInt(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** A fixed64 as its two 32-bit halves: exact, without BigInt on the hot path. */
  fixed64(): { hi: number; lo: number } {
    this._need(8);
    const lo = this._view.getUint32(this.pos, true);
    const hi = this._view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return { hi, lo };
  }

  /** A fixed64 count of nanoseconds as milliseconds (floor), without an object for its halves. */
  fixed64Millis(): number {
    this._need(8);
    const lo = this._view.getUint32(this.pos, true);
    const hi = this._view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return nanosHalvesToMs(hi, lo);
  }

  double(): number {
    this._need(8);
    const value = this._view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** Bounds of a length-delimited field's payload; the reader moves past it. */
  bytes(): { start: number; end: number } {
    this.skipLen();
    return { start: this.lenStart, end: this.lenEnd };
  }

  string(): string {
    this.skipLen();
    return decodeUtf8(this.buf, this.lenStart, this.lenEnd);
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this._need(8);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.skipLen();
        return;
      case WIRE_FIXED32:
        this._need(4);
        this.pos += 4;
        return;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
  }

  /** A reader over a length-delimited field's payload. */
  sub(): ProtoReader {
    const { start, end } = this.bytes();
    return this.at(start, end);
  }

  expect(wire: number, expected: number, what: string): void {
    if (wire !== expected) throw new ProtoError(`${what}: wire type ${wire}, expected ${expected}`);
  }

  private _need(length: number): void {
    if (length < 0 || this.pos + length > this.end) throw new ProtoError('field runs past the end of its message');
  }
}

/** Strict UTF-8: protobuf strings must be valid UTF-8; invalid bytes are malformed input. */
function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const buffer = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  // Most attribute strings are ASCII: check bytes in place, skip the UTF-8 validator.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return buffer.toString('latin1', start, end);
  if (!isUtf8(buffer.subarray(start, end))) throw new ProtoError('string field is not valid UTF-8');
  return buffer.toString('utf8', start, end);
}

/** Milliseconds of a fixed64 nanosecond time, exact: (hi·2^32 + lo) / 10^6 without leaving 2^53. */
export function nanosHalvesToMs(hi: number, lo: number): number {
  // hi·2^32 = hi·4294·10^6 + hi·967296
  return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
}
