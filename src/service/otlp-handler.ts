/**
 * POST /v1/traces and /v1/logs: read and decode the request, deliver its FlagSync items
 * (deliver-request.ts), and only then answer, so the collector's retry and persistent queue hold
 * whatever FlagSync has not accepted yet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeLogsJson, decodeTracesJson } from '../otlp/decode-json.js';
import type { DecodeFilter } from '../otlp/decode-filter.js';
import { decodeLogsProto, decodeTracesProto } from '../otlp/decode-proto.js';
import { encodeExportResponse, encodeStatus, type Encoding, type Signal } from '../otlp/encode-response.js';
import { OtlpDecodeError, type DecodedRequest } from '../otlp/otlp-event.js';
import { ProtoError } from '../otlp/proto-reader.js';
import { deliverRequest, type DeliverDeps } from './deliver-request.js';
import { HttpAnswer } from './http-answer.js';
import { BodyError, readBody } from './read-body.js';

export interface HandlerDeps extends DeliverDeps {
  filter: DecodeFilter;
  maxBodyBytes: number;
}

const CONTENT_TYPES: Record<string, Encoding> = { 'application/x-protobuf': 'proto', 'application/json': 'json' };

export async function handleExport(
  signal: Signal,
  req: IncomingMessage,
  res: ServerResponse,
  deps: HandlerDeps,
): Promise<void> {
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const encoding = CONTENT_TYPES[mediaType];
  if (!encoding)
    throw new HttpAnswer(415, `Content-Type must be application/x-protobuf or application/json, got "${mediaType}"`);
  try {
    const body = await readBody(req, deps.maxBodyBytes);
    const decoded = decode(signal, encoding, body, deps.filter);
    const { rejected, errorMessage } = await deliverRequest(signal, decoded, deps);
    respond(res, 200, encoding, encodeExportResponse(signal, encoding, rejected, errorMessage));
  } catch (error) {
    if (error instanceof BodyError) throw new HttpAnswer(error.status, error.message);
    if (error instanceof OtlpDecodeError || error instanceof ProtoError)
      throw new HttpAnswer(400, `cannot decode OTLP ${encoding}: ${error.message}`);
    throw error;
  }
}

function decode(signal: Signal, encoding: Encoding, body: Buffer, filter: DecodeFilter): DecodedRequest {
  if (encoding === 'proto')
    return signal === 'traces' ? decodeTracesProto(body, filter) : decodeLogsProto(body, filter);
  return signal === 'traces'
    ? decodeTracesJson(body.toString('utf8'), filter)
    : decodeLogsJson(body.toString('utf8'), filter);
}

function respond(
  res: ServerResponse,
  status: number,
  encoding: Encoding,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': encoding === 'proto' ? 'application/x-protobuf' : 'application/json',
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

export function respondError(res: ServerResponse, req: IncomingMessage, answer: HttpAnswer): void {
  const encoding: Encoding = (req.headers['content-type'] ?? '').includes('json') ? 'json' : 'proto';
  const headers: Record<string, string> =
    answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {};
  if (answer.status === 405) headers.allow = 'POST';
  if (answer.status === 401) headers['www-authenticate'] = 'Bearer';
  respond(res, answer.status, encoding, encodeStatus(encoding, answer.status, answer.message), headers);
}
