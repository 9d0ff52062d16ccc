/**
 * What the in-process exporters are given, written as the instrumentation writes it: span events
 * and log records carrying this package's attributes and size marker.
 */
import { payloadSize } from '../../src/convert/payload-size.js';
import type { ExportResult } from '../../src/otel/sdk-contract.js';

/** A feature_flag.evaluation span event for `user`; `extra` attributes replace or add to ours. */
export function evaluationEvent(user: string, extra: Record<string, unknown> = {}, nanos = 0) {
  const attributes: Record<string, unknown> = {
    'flagsync.size': 0,
    'feature_flag.key': 'register-button-copy',
    'feature_flag.provider.name': 'FlagSync',
    'flagsync.value': '"Join Now"',
    'flagsync.context': JSON.stringify({ key: user }),
    ...extra,
  };
  attributes['flagsync.size'] = payloadSize(attributes);
  return { name: 'feature_flag.evaluation', time: [1_795_000_000, nanos] as [number, number], attributes };
}

/** A span with one evaluation event per user, a millisecond apart. */
export function spanWith(users: string[]) {
  return { events: users.map((user, i) => evaluationEvent(user, {}, i * 1_000_000)) };
}

/** A flagsync.track log record for `user`, its data in the body. */
export function trackLogRecord(user: string) {
  const body: Record<string, unknown> = {
    'flagsync.size': 0,
    'flagsync.event.key': 'signup',
    'flagsync.context': JSON.stringify({ key: user }),
    'flagsync.call_id': `c-${user}`,
  };
  body['flagsync.size'] = payloadSize(body);
  return { eventName: 'flagsync.track', hrTime: [1_795_000_001, 0] as [number, number], attributes: {}, body };
}

/** export() as a processor calls it, awaited. */
export const exported = (exporter: { export(items: never[], cb: (r: ExportResult) => void): void }, items: unknown[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(items as never[], resolve));
