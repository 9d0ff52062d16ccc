/**
 * The wrapper's contract, on fake SDK clients and the real OTel SDK: every call goes to the SDK; a
 * call is handed to a pipeline (its SDK copy held until a receipt) only when the delivery setting
 * names one and it was recorded where it will be exported. Never interferes with what the app sees.
 */
import { diag, DiagLogLevel, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, SamplingDecision, type Sampler } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { payloadSize } from '../../src/convert/payload-size.js';
import { originalContext, resetClaims, serverItemClaim, state } from '../../src/instrumentation/claims.js';
import {
  giveBack,
  handoverStats,
  isUnsettled,
  receipt,
  RECEIPTED,
  resetHandover,
  RETURNED,
  STATE,
  type Claim,
} from '../../src/instrumentation/handover.js';
import { Fallback } from '../../src/instrumentation/fallback.js';
import { createClientInstrumenter, instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';

let otel: TestOtel | undefined;
afterEach(async () => {
  await otel?.shutdown();
  otel = undefined;
  resetClaims();
  resetHandover();
  diag.disable();
});

/** A RECORD-only sampler: spans record but are not sampled, so no processor exports them. */
const recordOnly: Sampler = {
  shouldSample: () => ({ decision: SamplingDecision.RECORD }),
  toString: () => 'RecordOnly',
};

/**
 * Like node-sdk 0.1.x: a missing flag returns the default and queues nothing; a present flag
 * queues an impression holding the context object it was given, stringifying the value as it does.
 */
function serverClient(flags: Record<string, unknown>) {
  const calls: unknown[][] = [];
  const queued: { flagKey: string; flagValue: unknown; context: unknown }[] = [];
  const events: { context: unknown; eventKey: unknown; value?: unknown; properties?: unknown }[] = [];
  const ended: string[] = [];
  return {
    calls,
    queued,
    events,
    ended,
    flag: (context: unknown, key: string, defaultValue?: unknown) => {
      calls.push(['flag', context, key, defaultValue]);
      if (!(key in flags)) return defaultValue ?? 'control';
      const flagValue = flags[key] ?? defaultValue ?? 'control';
      JSON.stringify(flagValue);
      queued.push({ flagKey: key, flagValue, context });
      return flagValue;
    },
    track: (...args: unknown[]) => {
      calls.push(['track', ...args]);
      const [context, eventKey, value, properties] = args;
      events.push({ context, eventKey, value, properties });
    },
    waitForReadyCanThrow: () => Promise.resolve(),
    destroy: async () => {
      ended.push('destroy');
    },
  };
}

/**
 * What FlagSync would get from the SDK for its queued items, through the guard: receipted calls
 * dropped, undecided ones held (`held:`), the rest as the app made them.
 */
function throughGuard(items: { context: unknown }[]): string[] {
  return items.flatMap((item) => {
    const claim = serverItemClaim(item.context);
    if (!claim) return [JSON.stringify(item)];
    if (claim[STATE] === RECEIPTED) return [];
    const json = JSON.stringify({ ...item, context: originalContext(claim) });
    return [isUnsettled(claim) ? `held:${json}` : json];
  });
}
const sdkSends = (raw: ReturnType<typeof serverClient>) => throughGuard(raw.queued);
const sdkEventSends = (raw: ReturnType<typeof serverClient>) => throughGuard(raw.events);
/** The claims the SDK got (node-sdk: the context copies), for receipts in tests. */
const claimsIn = (items: { context: unknown }[]) => items.map((i) => serverItemClaim(i.context)!).filter(Boolean);

async function flushed(o: TestOtel) {
  await o.tracerProvider.forceFlush();
  await o.loggerProvider.forceFlush();
  return { spans: o.spans.getFinishedSpans(), logs: o.logs.getFinishedLogRecords() };
}

function inSpan<T>(o: TestOtel, fn: () => T): T {
  return o.tracer.startActiveSpan('r', (span) => {
    const result = fn();
    span.end();
    return result;
  });
}

describe('instrumentFlagSyncClient', () => {
  it('returns what the SDK returns and keeps the rest of the client', () => {
    otel = setupOtel();
    const raw = serverClient({ a: { deep: [1] }, empty: null });
    const client = instrumentFlagSyncClient(raw);
    const value = inSpan(otel, () => client.flag({ key: 'u' }, 'a'));
    expect(value).toBe(raw.flag({ key: 'u' }, 'a'));
    expect(typeof client.destroy).toBe('function');
    expect(client.flag({ key: 'u' }, 'missing', 7)).toBe(7);
    expect(client.flag({ key: 'u' }, 'missing')).toBe('control');
    const fallback = { an: 'object' };
    expect(client.flag({ key: 'u' }, 'missing', fallback)).toBe(fallback);
    expect(client.flag({ key: 'u' }, 'empty', 'dflt')).toBe('dflt');
  });

  it('passes SDK exceptions through unchanged and never throws its own', () => {
    otel = setupOtel();
    const boom = new Error('sdk failure');
    const client = instrumentFlagSyncClient({
      flag: (..._args: unknown[]): unknown => {
        throw boom;
      },
      track: () => undefined,
    });
    expect(() => client.flag({ key: 'u' }, 'f')).toThrow(boom);

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const hostile = {
      key: 'u',
      get attributes(): Record<string, unknown> {
        throw new Error('getter');
      },
    };
    const raw = serverClient({ f: 1 });
    const ok = instrumentFlagSyncClient(raw);
    expect(() => ok.track({ key: 'u' }, 'e', 1, circular)).not.toThrow();
    expect(ok.flag(hostile, 'f')).toBe(1);
    expect(() => ok.track(null as never, 'e')).not.toThrow();
    expect(() => ok.track({ key: 'u' }, '')).not.toThrow();
    // Each of those went to the SDK as the app made it.
    expect(raw.calls.filter((c) => c[0] === 'track')).toEqual([
      ['track', { key: 'u' }, 'e', 1, circular],
      ['track', null, 'e', undefined, undefined],
      ['track', { key: 'u' }, '', undefined, undefined],
    ]);
    expect(raw.events).toHaveLength(3);
  });

  it('records flag() as a span event: the size marker first, then who delivers, semconv and FlagSync attributes, the context as the SDK sends it', async () => {
    otel = setupOtel();
    state.guarded.server = true;
    const raw = serverClient({ 'register-button-copy': 'Join Now' });
    const client = instrumentFlagSyncClient(raw, { delivery: 'exporter' });
    inSpan(otel, () =>
      client.flag({ key: 'user-1', attributes: { plan: 'pro' }, email: 'a@b.c' }, 'register-button-copy', 'Register'),
    );
    const { spans, logs } = await flushed(otel);
    expect(logs).toHaveLength(0);
    const attributes = {
      'flagsync.delivery': 'exporter',
      'feature_flag.key': 'register-button-copy',
      'feature_flag.provider.name': 'FlagSync',
      'feature_flag.context.id': 'user-1',
      'feature_flag.result.reason': 'unknown',
      'flagsync.value': '"Join Now"',
      'feature_flag.result.value': 'Join Now',
      'flagsync.context': '{"key":"user-1","attributes":{"plan":"pro"},"email":"a@b.c"}',
      // No definitions of this fake SDK: the string form of the served value.
      'feature_flag.result.variant': 'Join Now',
    };
    expect(spans[0]!.events.map((e) => [e.name, e.attributes])).toEqual([
      ['feature_flag.evaluation', { 'flagsync.size': payloadSize(attributes), ...attributes }],
    ]);
    expect(Object.keys(spans[0]!.events[0]!.attributes!)[0]).toBe('flagsync.size');
    // Recorded, and the guard covers node-sdk: the SDK's copy is held until the call is decided.
    const held =
      '{"flagKey":"register-button-copy","flagValue":"Join Now","context":{"key":"user-1","attributes":{"plan":"pro"},"email":"a@b.c"}}';
    expect(sdkSends(raw)).toEqual([`held:${held}`]);
    expect(handoverStats()).toMatchObject({ handedOver: 1, pending: 1 });
    // A receipt drops it; had it come back, the SDK would send it as it made it.
    receipt(claimsIn(raw.queued)[0]!);
    expect(sdkSends(raw)).toEqual([]);
    expect(handoverStats()).toMatchObject({ handedOver: 1, receipted: 1, pending: 0 });
  });

  it('by default (auto, no FlagSync exporter running) and with delivery sdk, the SDK delivers and the event says so', async () => {
    otel = setupOtel();
    state.guarded.server = true;
    for (const options of [{}, { delivery: 'sdk' as const }]) {
      const raw = serverClient({ f: 'v' });
      const instrumenter = createClientInstrumenter(options, () => true);
      const client = instrumenter.wrap(raw);
      inSpan(otel, () => {
        client.flag({ key: 'u' }, 'f');
        client.track({ key: 'u' }, 'e', 1);
      });
      expect(sdkSends(raw)).toEqual(['{"flagKey":"f","flagValue":"v","context":{"key":"u"}}']);
      expect(sdkEventSends(raw)).toEqual(['{"context":{"key":"u"},"eventKey":"e","value":1}']);
      expect(instrumenter.stats.sdkDelivered['delivery-setting']).toBe(2);
    }
    const { spans } = await flushed(otel);
    expect(spans.flatMap((s) => s.events.map((e) => e.attributes?.['flagsync.delivery']))).toEqual([
      'sdk',
      'sdk',
      'sdk',
      'sdk',
    ]);
    expect(handoverStats().handedOver).toBe(0);
  });

  it('rejects invalid options at construction, naming the valid values', () => {
    expect(() => createClientInstrumenter({ delivery: 'pipeline' as never }, () => true)).toThrow(
      'option delivery must be one of auto, sdk, exporter, collector, got "pipeline"',
    );
    process.env.FLAGSYNC_DELIVERY = 'both';
    try {
      expect(() => instrumentFlagSyncClient(serverClient({}))).toThrow(
        'env FLAGSYNC_DELIVERY must be one of auto, sdk, exporter, collector, got "both"',
      );
    } finally {
      delete process.env.FLAGSYNC_DELIVERY;
    }
  });

  it('destroy() waits for receipts, gives the rest back to the SDK, then runs the SDK destroy', async () => {
    otel = setupOtel();
    state.guarded.server = true;
    const raw = serverClient({ f: 1 });
    const client = instrumentFlagSyncClient(raw, { delivery: 'exporter', destroyTimeoutMillis: 200 });
    inSpan(otel, () => {
      client.flag({ key: 'a' }, 'f');
      client.flag({ key: 'b' }, 'f');
      client.track({ key: 'c' }, 'e');
    });
    const [a, b] = claimsIn(raw.queued) as Claim[];
    setTimeout(() => receipt(a!), 20);
    const started = Date.now();
    await client.destroy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(raw.ended).toEqual(['destroy']);
    expect(sdkSends(raw)).toEqual(['{"flagKey":"f","flagValue":1,"context":{"key":"b"}}']);
    expect(sdkEventSends(raw)).toEqual(['{"context":{"key":"c"},"eventKey":"e"}']);
    expect(handoverStats()).toMatchObject({ handedOver: 3, receipted: 1, pending: 0 });
    expect(handoverStats().returned.shutdown).toBe(2);
    expect(b![STATE]).toBe(RETURNED);
  });

  it('without the guard, writes the event as telemetry only and leaves the call to the SDK', async () => {
    otel = setupOtel();
    const raw = serverClient({ f: 'v' });
    const instrumenter = createClientInstrumenter({ delivery: 'exporter' }, () => true);
    const client = instrumenter.wrap(raw);
    inSpan(otel, () => client.flag({ key: 'u' }, 'f'));
    const { spans } = await flushed(otel);
    expect(spans[0]!.events[0]!.attributes?.['flagsync.delivery']).toBe('sdk');
    expect(sdkSends(raw)).toEqual(['{"flagKey":"f","flagValue":"v","context":{"key":"u"}}']);
    expect(instrumenter.stats.sdkDelivered['not-guarded']).toBe(1);
  });

  it("calls the SDK track() for every call: a recorded one is handed over with it, the rest stay the SDK's", async () => {
    otel = setupOtel();
    state.guarded.server = true;
    const raw = serverClient({});
    const client = instrumentFlagSyncClient(raw, { delivery: 'exporter' });
    expect(client.track({ key: 'u' }, 'purchase_event', 3, { a: 1 })).toBeUndefined();
    client.track({ key: 'u' }, 'nan', Number.NaN);
    client.track({ key: 'u', extra: true }, 'huge', 1e21, null);
    const notRecordable: unknown[][] = [
      [{ key: '' }, 'e'],
      [{ key: 'u' }, ''],
      [{ key: 'u' }, 42],
      [{ key: 'u' }, 'e', '12'],
      [{ key: 'u' }, 'e', 1, [1, 2]],
      [{ key: 'u' }, 'e', 1, 'text'],
      [{ key: 'u' }, 'e', 1, new Date(0)],
      [{ key: 'u', attributes: null }, 'e'],
      [{ key: 7 }, 'e'],
    ];
    for (const args of notRecordable) (client.track as (...a: unknown[]) => void)(...args);
    expect(
      raw.calls
        .filter((c) => c[0] === 'track')
        .slice(3)
        .map((c) => c.slice(1)),
    ).toEqual(notRecordable.map((args) => [...args, ...Array(4 - args.length).fill(undefined)]));
    // The three recorded ones are held for their receipts; the others go out as the app made them.
    expect(sdkEventSends(raw).filter((s) => s.startsWith('held:'))).toHaveLength(3);
    expect(sdkEventSends(raw).filter((s) => !s.startsWith('held:'))).toHaveLength(notRecordable.length);
    const { logs } = await flushed(otel);
    expect(logs.map((l) => [l.eventName, l.body])).toEqual([
      [
        'flagsync.track',
        expect.objectContaining({
          'flagsync.event.key': 'purchase_event',
          'flagsync.event.value': '3',
          'flagsync.event.properties': '{"a":1}',
        }),
      ],
      // The SDK's JSON has null for NaN, and 1e+21 for 1e21: kept as that text.
      ['flagsync.track', expect.objectContaining({ 'flagsync.event.key': 'nan', 'flagsync.event.value': 'null' })],
      [
        'flagsync.track',
        expect.objectContaining({
          'flagsync.event.value': '1e+21',
          'flagsync.event.properties': 'null',
          'flagsync.context': '{"key":"u","extra":true}',
        }),
      ],
    ]);
  });

  it('a missing flag or a flag serving null: the event is telemetry only, and the SDK copy (if any) goes out as the SDK made it', async () => {
    otel = setupOtel();
    state.guarded.server = true;
    const raw = serverClient({ present: 'x', servesNull: null });
    const client = instrumentFlagSyncClient(raw, { delivery: 'exporter' });
    await Promise.resolve();
    inSpan(otel, () => {
      expect(client.flag({ key: 'u' }, 'missing', 'dflt')).toBe('dflt');
      expect(client.flag({ key: 'u' }, 'servesNull')).toBe('control');
      expect(client.flag({ key: 'u' }, 'present', 'dflt')).toBe('x');
    });
    const { spans } = await flushed(otel);
    expect(
      spans[0]!.events.map((e) => [
        e.attributes?.['feature_flag.result.reason'],
        e.attributes?.['error.type'],
        e.attributes?.['flagsync.delivery'],
        e.attributes?.['flagsync.value'],
      ]),
    ).toEqual([
      ['error', 'flag_not_found', 'sdk', '"dflt"'],
      ['default', undefined, 'sdk', '"control"'],
      ['unknown', undefined, 'exporter', '"x"'],
    ]);
    // The null-serving flag's SDK impression is the SDK's, with the default it fell back to; the present one is held.
    expect(sdkSends(raw)).toEqual([
      '{"flagKey":"servesNull","flagValue":"control","context":{"key":"u"}}',
      'held:{"flagKey":"present","flagValue":"x","context":{"key":"u"}}',
    ]);
    // The reason is the same without the guard.
    state.guarded.server = false;
    const unguarded = instrumentFlagSyncClient(serverClient({}));
    await Promise.resolve();
    otel.tracer.startActiveSpan('r2', (span) => {
      unguarded.flag({ key: 'u' }, 'missing');
      span.end();
    });
    const after = await flushed(otel);
    expect(after.spans[1]!.events[0]!.attributes?.['error.type']).toBe('flag_not_found');
  });

  it('falls back to a log-based event when no span is active, the span is sampled out, or records without being sampled', async () => {
    for (const sampler of [new AlwaysOffSampler(), recordOnly]) {
      otel = setupOtel({ sampler });
      const instrumenter = createClientInstrumenter({}, () => true);
      const client = instrumenter.wrap(serverClient({ f: true }));
      client.flag({ key: 'u' }, 'f');
      inSpan(otel, () => {
        client.flag({ key: 'u' }, 'f');
        client.track({ key: 'u' }, 'e');
      });
      const { spans, logs } = await flushed(otel);
      expect(spans).toHaveLength(0);
      expect(logs.map((l) => l.eventName)).toEqual([
        'feature_flag.evaluation',
        'feature_flag.evaluation',
        'flagsync.track',
      ]);
      // The FlagSync data is in the body, size marker and call id included; semconv attributes stay attributes.
      expect(logs[0]!.body).toEqual(
        expect.objectContaining({
          'flagsync.size': expect.any(Number),
          'flagsync.value': 'true',
          'flagsync.call_id': expect.any(String),
        }),
      );
      expect(logs[0]!.attributes).toEqual({
        'feature_flag.key': 'f',
        'feature_flag.provider.name': 'FlagSync',
        'feature_flag.context.id': 'u',
        'feature_flag.result.value': true,
        'feature_flag.result.variant': 'true',
        'feature_flag.result.reason': 'unknown',
      });
      expect(instrumenter.stats.logEvents).toBe(3);
      await otel.shutdown();
      otel = undefined;
    }
  });

  it('leaves calls to the SDK (counted, reported once) when asked to, or when there is no LoggerProvider', async () => {
    const infos: string[] = [];
    diag.setLogger(
      {
        warn: () => {},
        error: () => {},
        info: (...args: unknown[]) => infos.push(args.join(' ')),
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.INFO,
    );
    otel = setupOtel({ withLogs: false });
    state.guarded.server = true;
    const sdkChoice = createClientInstrumenter({ noRecordingSpan: 'sdk' }, () => true);
    const raw1 = serverClient({ f: 1 });
    sdkChoice.wrap(raw1).flag({ key: 'u' }, 'f');
    const noLogs = createClientInstrumenter({}, () => true);
    const raw2 = serverClient({ f: 1 });
    const client = noLogs.wrap(raw2);
    client.flag({ key: 'u' }, 'f');
    client.flag({ key: 'u' }, 'f');
    client.track({ key: 'u' }, 'e', 2);
    expect(sdkChoice.stats.sdkDelivered['no-exported-signal']).toBe(1);
    expect(noLogs.stats.sdkDelivered['no-exported-signal']).toBe(3);
    // The SDK got the app's own context (nothing to hold back) and the track() call.
    expect(sdkSends(raw1)).toEqual(['{"flagKey":"f","flagValue":1,"context":{"key":"u"}}']);
    expect(sdkSends(raw2)).toHaveLength(2);
    expect(sdkEventSends(raw2)).toEqual(['{"context":{"key":"u"},"eventKey":"e","value":2}']);
    expect(infos.filter((w) => w.includes('no-exported-signal'))).toHaveLength(2);
  });

  it('moves to the log form once a span holds as many events as its limit', async () => {
    otel = setupOtel({ spanLimits: { eventCountLimit: 4 } });
    const instrumenter = createClientInstrumenter({ spanEventCountLimit: 4 }, () => true);
    const client = instrumenter.wrap(serverClient({ f: 1 }));
    otel.tracer.startActiveSpan('busy', (span) => {
      span.addEvent('app-event');
      for (let i = 0; i < 5; i++) client.flag({ key: `u${i}` }, 'f');
      span.end();
    });
    const { spans, logs } = await flushed(otel);
    expect(spans[0]!.events.map((e) => e.name)).toEqual([
      'app-event',
      'feature_flag.evaluation',
      'feature_flag.evaluation',
      'feature_flag.evaluation',
    ]);
    expect(spans[0]!.droppedEventsCount).toBe(0);
    expect(logs.map((l) => l.attributes['feature_flag.context.id'])).toEqual(['u3', 'u4']);
  });

  it('a span event limit set in code: the evicted call goes back to the SDK, and a full span is left alone', async () => {
    otel = setupOtel({ spanLimits: { eventCountLimit: 2 }, withLogs: false });
    state.guarded.server = true;
    const instrumenter = createClientInstrumenter({ delivery: 'exporter' }, () => true);
    const raw = serverClient({ f: 1 });
    const client = instrumenter.wrap(raw);
    otel.tracer.startActiveSpan('busy', (span) => {
      client.flag({ key: 'u0' }, 'f'); // recorded, handed over
      client.flag({ key: 'u1' }, 'f'); // recorded, handed over
      client.flag({ key: 'u2' }, 'f'); // evicts u0's event: u0 is handed back to the SDK
      client.track({ key: 'u3' }, 'e'); // the span is full now: left to the SDK
      span.end();
    });
    const { spans } = await flushed(otel);
    expect(spans[0]!.events.map((e) => e.attributes?.['feature_flag.context.id'])).toEqual(['u1', 'u2']);
    expect(sdkSends(raw)).toEqual([
      '{"flagKey":"f","flagValue":1,"context":{"key":"u0"}}',
      'held:{"flagKey":"f","flagValue":1,"context":{"key":"u1"}}',
      'held:{"flagKey":"f","flagValue":1,"context":{"key":"u2"}}',
    ]);
    expect(handoverStats().returned['span-event-limit']).toBe(1);
    expect(sdkEventSends(raw)).toEqual(['{"context":{"key":"u3"},"eventKey":"e"}']);
  });

  it('an attribute length limit that cuts our attributes: the call goes to the SDK, the cut event is ignored downstream', async () => {
    otel = setupOtel({ spanLimits: { attributeValueLengthLimit: 12 }, withLogs: false });
    state.guarded.server = true;
    const instrumenter = createClientInstrumenter({ delivery: 'exporter' }, () => true);
    const raw = serverClient({ f: 'a long served value' });
    const client = instrumenter.wrap(raw);
    inSpan(otel, () => {
      client.flag({ key: 'u' }, 'f');
      client.track({ key: 'a-longer-user-key' }, 'e', 1.25);
    });
    const { spans } = await flushed(otel);
    expect(spans[0]!.events).toHaveLength(2);
    for (const event of spans[0]!.events)
      expect(payloadSize(event.attributes!)).not.toBe(event.attributes!['flagsync.size']);
    expect(instrumenter.stats.sdkDelivered['attribute-limits']).toBe(2);
    expect(sdkSends(raw)).toEqual(['{"flagKey":"f","flagValue":"a long served value","context":{"key":"u"}}']);
    expect(sdkEventSends(raw)).toEqual(['{"context":{"key":"a-longer-user-key"},"eventKey":"e","value":1.25}']);
    expect(handoverStats().handedOver).toBe(0);
  });

  it('never writes a number an OTLP encoding cannot carry exactly', async () => {
    otel = setupOtel();
    const client = instrumentFlagSyncClient(serverClient({ big: 1e19, huge: 1e21, fine: 2 ** 53 - 1, half: 0.5 }));
    inSpan(otel, () => {
      for (const f of ['big', 'huge', 'fine', 'half']) client.flag({ key: 'u' }, f);
    });
    const { spans } = await flushed(otel);
    expect(spans[0]!.events.map((e) => e.attributes?.['feature_flag.result.value'])).toEqual([
      '10000000000000000000',
      '1e+21',
      2 ** 53 - 1,
      0.5,
    ]);
  });

  it('records in the log form by choice, per signal', async () => {
    otel = setupOtel();
    const client = instrumentFlagSyncClient(serverClient({ f: 1 }), { flagSignal: 'log' });
    inSpan(otel, () => {
      client.flag({ key: 'u' }, 'f');
      client.track({ key: 'u' }, 'e', 1);
    });
    const { spans, logs } = await flushed(otel);
    expect(spans[0]!.events.map((e) => e.name)).toEqual(['flagsync.track']);
    expect(logs.map((l) => l.eventName)).toEqual(['feature_flag.evaluation']);
  });

  it('applies privacy options to impressions and events alike', async () => {
    otel = setupOtel();
    const client = instrumentFlagSyncClient(serverClient({ f: 'secret-config' }), {
      hashContextKey: (k) => `h(${k})`,
      contextAttributes: { deny: ['email'] },
      omitFlagValues: true,
    });
    inSpan(otel, () => {
      client.flag({ key: 'u', attributes: { email: 'a@b.c', plan: 'pro' } }, 'f');
      client.track({ key: 'u', attributes: { email: 'a@b.c' }, email: 'a@b.c' }, 'e');
    });
    const { spans } = await flushed(otel);
    const [flag, track] = spans[0]!.events.map((e) => e.attributes!);
    expect(flag!['feature_flag.context.id']).toBe('h(u)');
    expect(flag!['flagsync.context']).toBe('{"key":"h(u)","attributes":{"plan":"pro"}}');
    expect(track!['flagsync.context']).toBe('{"key":"h(u)","attributes":{}}');
    expect(JSON.stringify(spans[0]!.events)).not.toContain('a@b.c');
    expect(JSON.stringify(spans[0]!.events)).not.toContain('secret-config');
  });

  it('records js-sdk shaped clients with the core context, flags() included, and hands each call over', async () => {
    otel = setupOtel();
    state.guarded.client = true;
    const raw = {
      core: { key: 'browser-user', attributes: { plan: 'free' } },
      flag: (k: string, d?: unknown) => (k === 'a' ? 1 : (d ?? 'control')),
      flags: () => ({ a: 1, b: 'x' }),
      track: (..._args: unknown[]) => undefined,
    };
    const client = instrumentFlagSyncClient(raw, { delivery: 'exporter' });
    inSpan(otel, () => {
      expect(client.flag('a')).toBe(1);
      expect(client.flag('missing', 'd')).toBe('d');
      client.flags();
      client.track('clicked', null);
    });
    const { spans } = await flushed(otel);
    expect(
      spans[0]!.events.map((e) => [
        e.name,
        e.attributes?.['feature_flag.key'] ?? e.attributes?.['flagsync.event.key'],
        e.attributes?.['flagsync.value'],
        e.attributes?.['flagsync.delivery'],
      ]),
    ).toEqual([
      ['feature_flag.evaluation', 'a', '1', 'exporter'],
      ['feature_flag.evaluation', 'missing', '"d"', 'exporter'],
      ['feature_flag.evaluation', 'a', '1', 'exporter'],
      ['feature_flag.evaluation', 'b', '"x"', 'exporter'],
      ['flagsync.track', 'clicked', undefined, 'exporter'],
    ]);
    expect(new Set(spans[0]!.events.map((e) => e.attributes?.['flagsync.context']))).toEqual(
      new Set(['{"key":"browser-user","attributes":{"plan":"free"}}']),
    );
    expect(state.clientClaims.map((c) => [c.kind, c.contextKey, c.name, isUnsettled(c)])).toEqual([
      ['impression', 'browser-user', 'a', true],
      ['impression', 'browser-user', 'missing', true],
      ['impression', 'browser-user', 'a', true],
      ['impression', 'browser-user', 'b', true],
      ['event', 'browser-user', 'clicked', true],
    ]);
    giveBack(state.clientClaims, 'no-receipt');
    expect(handoverStats().returned['no-receipt']).toBe(5);
  });

  it('passes straight through to the SDK while disabled', async () => {
    otel = setupOtel();
    let enabled = false;
    const raw = serverClient({ f: 1 });
    const client = createClientInstrumenter({}, () => enabled).wrap(raw);
    client.flag({ key: 'u' }, 'f');
    client.track({ key: 'u' }, 'e', 1);
    expect(raw.calls.map((c) => c[0])).toEqual(['flag', 'track']);
    expect(raw.calls[0]).toEqual(['flag', { key: 'u' }, 'f', undefined]);
    enabled = true;
    client.track({ key: 'u' }, 'e', 1);
    expect(raw.calls.map((c) => c[0])).toEqual(['flag', 'track', 'track']);
    const { logs } = await flushed(otel);
    expect(logs).toHaveLength(1);
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it('the fallback sentinel serialises as the default the SDK would have used', () => {
    expect(JSON.stringify({ flagValue: new Fallback({ a: [1] }) })).toBe('{"flagValue":{"a":[1]}}');
    expect(JSON.stringify(new Fallback('control'))).toBe('"control"');
  });
});
