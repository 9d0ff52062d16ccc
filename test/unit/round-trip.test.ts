/**
 * Values and properties through the real OTel SDK (span-event and log-record forms) and back into
 * FlagSync payload items, compared as JSON text: byte-for-byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConverter, type ConversionOutcome } from '../../src/convert/converter.js';
import { convertLogRecords, convertSpans } from '../../src/convert/sources.js';
import { resetClaims, state } from '../../src/instrumentation/claims.js';
import { resetHandover } from '../../src/instrumentation/handover.js';
import { createClientInstrumenter } from '../../src/instrumentation/wrap-client.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';

const VALUES: [string, unknown][] = [
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['one', 1],
  ['negative float', -1.5],
  ['large number', 1e21],
  ['string "true"', 'true'],
  ['string "1"', '1'],
  ['empty string', ''],
  ['unicode string', 'ünïcødé 🚀 "quoted" \\ \n'],
  ['null', null],
  ['empty object', {}],
  ['empty array', []],
  ['nested object', { layout: 'grid', columns: [1, 2, 3], extras: { badge: null, on: true, ключ: 'значение' } }],
  ['array of objects', [{ a: 1 }, { b: [null] }]],
];

const PROPERTIES: [string, unknown][] = [
  ['absent', undefined],
  ['null', null],
  ['empty', {}],
  ['flat', { price: 42.5, discount: 'SPRING' }],
  [
    'nested with arrays, booleans, null',
    {
      cart: {
        items: [
          { sku: 'A-1', qty: 2 },
          { sku: 'B', qty: 1 },
        ],
      },
      gift: false,
      note: null,
      tags: [],
    },
  ],
  ['unicode keys', { ключ: 'значение', '😀': 1, 'a.b': { 'c d': 'e' } }],
];

const TRACK_VALUES: [string, unknown][] = [
  ['absent', undefined],
  ['null', null],
  ['zero', 0],
  ['negative', -3.25],
  ['tiny', 1e-7],
  ['integer', 42],
];

const context = {
  key: 'user-ü-1',
  attributes: { plan: 'pro', age: 41, beta: true, tags: ['a', 'b'], nested: { x: null } },
};

let otel: TestOtel;
beforeAll(() => {
  otel = setupOtel();
  // As if the delivery guard covered node-sdk: impressions are this package's to deliver.
  state.guarded.server = true;
});
afterAll(async () => {
  resetClaims();
  resetHandover();
  await otel.shutdown();
});

function fakeServerClient(value: unknown) {
  return { flag: (..._args: unknown[]) => value, track: (..._args: unknown[]) => undefined };
}

async function roundTrip(
  signal: 'span' | 'log',
  act: (client: { flag: (...args: unknown[]) => unknown; track: (...args: unknown[]) => unknown }) => void,
): Promise<ConversionOutcome[]> {
  otel.spans.reset();
  otel.logs.reset();
  // Handed to this process's exporters, as with a FlagSyncSpanExporter running: what they convert.
  const instrumenter = createClientInstrumenter(
    { flagSignal: signal, trackSignal: signal, delivery: 'exporter' },
    () => true,
  );
  const outcomes: ConversionOutcome[] = [];
  const converter = createConverter({ consumer: 'exporter' });
  otel.tracer.startActiveSpan('request', (span) => {
    act(instrumenter.wrap(fakeServerClient(currentValue)) as never);
    span.end();
  });
  await otel.tracerProvider.forceFlush();
  await otel.loggerProvider.forceFlush();
  if (signal === 'span') convertSpans(converter, otel.spans.getFinishedSpans(), (o) => outcomes.push(o));
  else convertLogRecords(converter, otel.logs.getFinishedLogRecords(), (o) => outcomes.push(o));
  return outcomes;
}

let currentValue: unknown;

for (const signal of ['span', 'log'] as const) {
  describe(`${signal} form`, () => {
    it.each(VALUES)('flag value %s keeps its JSON type', async (_name, value) => {
      currentValue = value;
      const before = Date.now();
      const [outcome, ...rest] = await roundTrip(signal, (client) => client.flag(context, 'my-flag', 'fallback'));
      expect(rest).toHaveLength(0);
      expect(outcome?.kind).toBe('impression');
      if (outcome?.kind !== 'impression') return;
      const { timestamp, ...item } = outcome.item;
      expect(JSON.stringify(item)).toBe(JSON.stringify({ flagKey: 'my-flag', flagValue: value, context }));
      // The wire JSON assembled from the validated texts is the serialised item, byte for byte.
      expect(outcome.json).toBe(JSON.stringify(outcome.item));
      expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(timestamp)).toBeLessThanOrEqual(Date.now());
    });

    it.each(PROPERTIES)('track properties %s survive', async (_name, properties) => {
      const [outcome] = await roundTrip(signal, (client) => client.track(context, 'purchase_event', 9.99, properties));
      expect(outcome?.kind).toBe('event');
      if (outcome?.kind !== 'event') return;
      expect(outcome.json).toBe(JSON.stringify(outcome.item));
      const { timestamp: _t, ...item } = outcome.item;
      const expected =
        properties === undefined
          ? { context, eventKey: 'purchase_event', value: 9.99 }
          : { context, eventKey: 'purchase_event', value: 9.99, properties };
      expect(JSON.stringify(item)).toBe(JSON.stringify(expected));
    });

    it.each(TRACK_VALUES)('track value %s survives, absent stays absent', async (_name, value) => {
      const [outcome] = await roundTrip(signal, (client) => client.track({ key: 'u1' }, 'page_load_time', value));
      expect(outcome?.kind).toBe('event');
      if (outcome?.kind !== 'event') return;
      expect(outcome.json).toBe(JSON.stringify(outcome.item));
      const { timestamp: _t, ...item } = outcome.item;
      const expected =
        value === undefined
          ? { context: { key: 'u1' }, eventKey: 'page_load_time' }
          : { context: { key: 'u1' }, eventKey: 'page_load_time', value };
      expect(JSON.stringify(item)).toBe(JSON.stringify(expected));
    });
  });
}

describe('log form keeps trace correlation', () => {
  it('log records carry the active span context', async () => {
    currentValue = 'Join Now';
    otel.logs.reset();
    const instrumenter = createClientInstrumenter({ flagSignal: 'log' }, () => true);
    let traceId = '';
    otel.tracer.startActiveSpan('request', (span) => {
      traceId = span.spanContext().traceId;
      instrumenter.wrap(fakeServerClient(currentValue)).flag(context, 'register-button-copy');
      span.end();
    });
    await otel.loggerProvider.forceFlush();
    const [record] = otel.logs.getFinishedLogRecords();
    expect(record?.eventName).toBe('feature_flag.evaluation');
    expect(record?.spanContext?.traceId).toBe(traceId);
  });
});
