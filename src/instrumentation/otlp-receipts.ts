/**
 * Collector mode's receipts: the app's own OTLP export of the span or log batch holding a call.
 * Every OTLP exporter of OpenTelemetry JS (traces and logs; http/proto, http/json, grpc; both
 * lines) extends `OTLPExporterBase` from `@opentelemetry/otlp-exporter-base`, whose `export(items,
 * resultCallback)` answers once per batch: SUCCESS once the collector accepted it, FAILED after
 * the exporter's own retries or timeout. Patching that one method of each copy the app loads gives
 * the receipt for exporters configured in code and through NodeSDK's `OTEL_*_EXPORTER` alike.
 *
 * A call returned to the SDK before its span was exported has already been rewritten to
 * `flagsync.delivery: sdk` (handover.ts), so the collector does not deliver it again.
 * Browser-safe (node-sdk-delivery-guard.ts finds the module copies in Node).
 */
import { ATTR_FLAGSYNC_CALL_ID, DELIVERY_COLLECTOR } from '../conventions.js';
import { claimsOf, giveBack, pipelineOf, receipt, spanHolder, take, type Claim } from './handover.js';

const ORIGINAL = Symbol.for('flagsync-otel.otlp-receipts.original');
const PATCHED = Symbol.for('flagsync-otel.otlp-receipts.patched');
const SUCCESS = 0;

type ExportFn = (items: unknown[], resultCallback: (result: { code: number; error?: Error }) => void) => void;

/** Patch `OTLPExporterBase` of one loaded copy of `@opentelemetry/otlp-exporter-base`; false if it is not one. */
export function guardOtlpExporterBase(module: unknown): boolean {
  const proto = (module as { OTLPExporterBase?: { prototype: Record<PropertyKey, unknown> } } | undefined)
    ?.OTLPExporterBase?.prototype;
  if (!proto || typeof proto.export !== 'function') return false;
  if (proto[ORIGINAL]) return true;
  const original = proto.export as ExportFn;
  const patched: ExportFn = function (this: unknown, items, resultCallback) {
    const taken = Array.isArray(items) ? takeCollectorCalls(items) : undefined;
    if (!taken) return original.call(this, items, resultCallback);
    let answered = false;
    const answer: typeof resultCallback = (result) => {
      if (!answered) {
        answered = true;
        if (result?.code === SUCCESS) for (const claim of taken) receipt(claim);
        else giveBack(taken, 'export-failed');
      }
      resultCallback(result);
    };
    try {
      original.call(this, items, answer);
    } catch (error) {
      if (!answered) {
        answered = true;
        giveBack(taken, 'export-failed');
      }
      throw error;
    }
  };
  proto.export = patched;
  proto[ORIGINAL] = original;
  const shared = globalThis as Record<PropertyKey, unknown>;
  shared[PATCHED] = ((shared[PATCHED] as number | undefined) ?? 0) + 1;
  return true;
}

/** True once an OTLP exporter can give receipts (collector mode hands calls over only then). */
export function otlpReceiptsAvailable(): boolean {
  return ((globalThis as Record<PropertyKey, unknown>)[PATCHED] as number | undefined) !== undefined;
}

/**
 * The collector-mode calls in a batch of spans or log records, now this export's to settle. The
 * first export to take a call decides it (an app with two OTLP exporters: see docs/guarantees.md).
 */
function takeCollectorCalls(items: unknown[]): Claim[] | undefined {
  let taken: Claim[] | undefined;
  for (const item of items) {
    const claims = claimsOf(holderOf(item));
    if (!claims) continue;
    for (const claim of claims) {
      if (pipelineOf(claim) !== DELIVERY_COLLECTOR) continue;
      if (take(claim)) {
        taken ??= [];
        taken.push(claim);
      }
    }
  }
  return taken;
}

/** A span's holder is its span id; a log-based event's is its call id (the record object is the SDK's own). */
function holderOf(item: unknown): unknown {
  if (typeof item !== 'object' || item === null) return undefined;
  const span = item as { events?: unknown; spanContext?: () => { spanId: string } };
  if (Array.isArray(span.events)) return typeof span.spanContext === 'function' ? spanHolder(span as never) : undefined;
  const body = (item as { body?: unknown }).body;
  return typeof body === 'object' && body !== null
    ? (body as Record<string, unknown>)[ATTR_FLAGSYNC_CALL_ID]
    : undefined;
}
