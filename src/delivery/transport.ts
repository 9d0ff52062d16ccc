/**
 * HTTP to FlagSync over undici with keep-alive. Results are values, never exceptions: the engine
 * decides what a failure means.
 */
import { context } from '@opentelemetry/api';
import { suppressTracing } from '../otel/sdk-contract.js';
import type { Dispatcher } from 'undici';
import { isConfigProblemStatus, isRetryableStatus, parseRetryAfter } from './retry-policy.js';
import { loadUndici } from './undici.js';

export type TransportResult =
  | { kind: 'success'; status: number }
  | {
      kind: 'retryable';
      status?: number;
      retryAfterMillis?: number;
      message: string;
      /**
       * No answer after the request may have reached FlagSync (timeout, connection lost): it may have stored the batch.
       */
      unconfirmed?: boolean;
      /** The answer means a setting is wrong (key, URL): retried after the configuration-problem pause. */
      configProblem?: boolean;
    }
  | { kind: 'failure'; status: number; errorCode?: string; message: string };

export interface Transport {
  /** `timeoutMillis` overrides the configured timeout for this request. */
  post(path: string, body: string, timeoutMillis?: number): Promise<TransportResult>;
  close(): Promise<void>;
}

export interface HttpTransportOptions {
  baseUrl: string;
  sdkKey: string;
  timeoutMillis: number;
  /** Longest Retry-After honoured (ms). */
  maxRetryAfterMillis: number;
  /** Secrets to scrub from any message that might echo them. */
  redact?: (text: string) => string;
}

/** Longest error body read from FlagSync, to quote its message. */
const MAX_ERROR_BODY = 16 * 1024;

export function createHttpTransport(options: HttpTransportOptions): Transport {
  // Throws the one-line message on a Node undici cannot run on.
  const { Agent, request } = loadUndici();
  const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 8, pipelining: 1 });
  const base = options.baseUrl.replace(/\/+$/, '');
  const redact = options.redact ?? ((text: string) => text);
  const headers = { 'content-type': 'application/json', 'x-ridgeline-key': options.sdkKey };

  async function post(path: string, body: string, timeoutMillis = options.timeoutMillis): Promise<TransportResult> {
    try {
      // Our own HTTP calls must not show up as spans in the app's traces.
      const response = await context.with(suppressTracing(context.active()), () =>
        request(base + path, {
          method: 'POST',
          headers,
          body,
          dispatcher,
          headersTimeout: timeoutMillis,
          bodyTimeout: timeoutMillis,
          signal: AbortSignal.timeout(timeoutMillis),
        }),
      );
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        await response.body.dump();
        return { kind: 'success', status };
      }
      const text = await readLimited(response.body);
      const parsed = parseErrorBody(text);
      const message = redact(
        `FlagSync answered ` +
          `${status}${parsed.errorCode ? ` ${parsed.errorCode}` : ''}${parsed.message ? `: ${parsed.message}` : ''}`,
      );
      if (isRetryableStatus(status)) {
        const retryAfter = response.headers['retry-after'];
        const retryAfterMillis = parseRetryAfter(
          Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          options.maxRetryAfterMillis,
        );
        // 504: a gateway gave up waiting for FlagSync, which may still have stored the batch.
        return {
          kind: 'retryable',
          status,
          ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}),
          message,
          unconfirmed: status === 504,
        };
      }
      if (isConfigProblemStatus(status)) {
        const where =
          status >= 300 && status <= 399
            ? ` (a redirect to ${String(response.headers.location ?? 'nowhere')}: check FLAGSYNC_EVENTS_URL)`
            : status === 404 || status === 405
              ? ' (check FLAGSYNC_EVENTS_URL)'
              : ' (check the SDK key, FLAGSYNC_SDK_KEY)';
        return { kind: 'retryable', status, message: redact(message + where), configProblem: true };
      }
      return { kind: 'failure', status, ...(parsed.errorCode ? { errorCode: parsed.errorCode } : {}), message };
    } catch (error) {
      return {
        kind: 'retryable',
        message: redact(`request to FlagSync failed: ${describeError(error)}`),
        unconfirmed: !NEVER_SENT.has(errorCode(error) ?? ''),
      };
    }
  }

  // Called at the end of shutdown: a request still unanswered then is abandoned, not waited for.
  return { post, close: () => dispatcher.destroy() };
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    if (text.length < MAX_ERROR_BODY) text += (chunk as Buffer).toString('utf8');
  }
  return text.slice(0, MAX_ERROR_BODY);
}

function parseErrorBody(text: string): { errorCode?: string; message?: string } {
  try {
    const body = JSON.parse(text) as { errorCode?: unknown; message?: unknown };
    return {
      ...(typeof body.errorCode === 'string' ? { errorCode: body.errorCode } : {}),
      ...(typeof body.message === 'string' ? { message: body.message } : {}),
    };
  } catch {
    return text ? { message: text.slice(0, 200) } : {};
  }
}

/** Failures that happen before a request can reach FlagSync: it cannot have stored anything. */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  const causeCode = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : undefined;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    const text = error.name === 'TimeoutError' || error.name === 'AbortError' ? 'timed out' : error.message;
    return code ? `${text} ${code}` : text;
  }
  return String(error);
}
