/**
 * OTLP/HTTP answers in the request's content type: Export*ServiceResponse with partialSuccess for
 * 200, google.rpc.Status for errors. Hand-encoded: a handful of fields.
 */
import { Buffer } from 'node:buffer';

export type Signal = 'traces' | 'logs';
export type Encoding = 'proto' | 'json';

export function encodeExportResponse(
  signal: Signal,
  encoding: Encoding,
  rejected: number,
  errorMessage: string,
): Buffer {
  if (encoding === 'json') {
    const field = signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords';
    return Buffer.from(
      JSON.stringify(
        rejected > 0 || errorMessage ? { partialSuccess: { [field]: String(rejected), errorMessage } } : {},
      ),
    );
  }
  if (rejected === 0 && !errorMessage) return Buffer.alloc(0);
  // ExportTracePartialSuccess / ExportLogsPartialSuccess: 1 = rejected (int64), 2 = error_message.
  const partial = Buffer.concat([
    rejected > 0 ? Buffer.concat([Buffer.from([0x08]), varint(rejected)]) : Buffer.alloc(0),
    lenField(2, Buffer.from(errorMessage, 'utf8')),
  ]);
  return lenField(1, partial);
}

/** google.rpc.Status { int32 code = 1; string message = 2; } with the gRPC code for the HTTP status. */
export function encodeStatus(encoding: Encoding, httpStatus: number, message: string): Buffer {
  const code = grpcCode(httpStatus);
  if (encoding === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.concat([Buffer.from([0x08]), varint(code), lenField(2, Buffer.from(message, 'utf8'))]);
}

function grpcCode(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return 3; // INVALID_ARGUMENT
    case 401:
      return 16; // UNAUTHENTICATED
    case 413:
      return 11; // OUT_OF_RANGE
    case 429:
      return 8; // RESOURCE_EXHAUSTED
    case 503:
      return 14; // UNAVAILABLE
    case 404:
    case 405:
      return 12; // UNIMPLEMENTED
    default:
      return httpStatus >= 500 ? 13 : 3; // INTERNAL / INVALID_ARGUMENT
  }
}

function lenField(field: number, payload: Buffer): Buffer {
  if (payload.length === 0) return payload;
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(payload.length), payload]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}
