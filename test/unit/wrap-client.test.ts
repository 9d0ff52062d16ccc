/** The wrapper's contract, on fake SDK clients and the real OTel SDK: records exactly once, never interferes. */
import { diag, DiagLogLevel, trace } from '@opentelemetry/api';
import { AlwaysOffSampler } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientInstrumenter, instrumentFlagSyncClient } from '../../src/instrumentation/wrap-client.js';
import { guardAxios, removeSdkDeliveryGuards } from '../../src/instrumentation/sdk-delivery-guard.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';

let otel: TestOtel | undefined;
afterEach(async () => {
  await otel?.shutdown();
  otel = undefined;
  removeSdkDeliveryGuards();
  diag.disable();
});

/** Like node-sdk 0.1.x: missing flags return the default and record nothing. */
function serverClient(flags: Record<string, unknown>) {
  const calls: unknown[][] = [];
  return {
    calls,
    flag: (context: unknown, key: string, defaultValue?: unknown) => {
      calls.push(['flag', context, key, defaultValue]);
      return key in flags ? flags[key] : (defaultValue ?? 'control');
    },
    track: (...args: unknown[]) => {
      calls.push(['track', ...args]);
    },
    waitForReadyCanThrow: () => Promise.resolve(),
    destroy: async () => undefined,
  };
}

async function flushed(o: TestOtel) {
  await o.tracerProvider.forceFlush();
  await o.loggerProvider.forceFlush();
  return { spans: o.spans.getFinishedSpans(), logs: o.logs.getFinishedLogRecords() };
}

describe('instrumentFlagSyncClient', () => {
  it('returns what the SDK returns and keeps the rest of the client', () => {
    otel = setupOtel();
    const raw = serverClient({ a: { deep: [1] } });
    const client = instrumentFlagSyncClient(raw);
    const value = otel.tracer.startActiveSpan('r', (span) => {
      const v = client.flag({ key: 'u' }, 'a');
      span.end();
      return v;
    });
    expect(value).toBe(raw.flag({ key: 'u' }, 'a'));
    expect(client.destroy).toBe(raw.destroy);
    expect(client.flag({ key: 'u' }, 'missing', 7)).toBe(7);
    expect(client.flag({ key: 'u' }, 'missing')).toBe('control');
  });

  it('passes SDK exceptions through unchanged and never throws its own', () => {
    otel = setupOtel();
    const boom = new Error('sdk failure');
    const client = instrumentFlagSyncClient({ flag: (..._args: unknown[]): unknown => { throw boom; }, track: () => undefined });
    expect(() => client.flag({ key: 'u' }, 'f')).toThrow(boom);

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const hostile = { key: 'u', get attributes(): Record<string, unknown> { throw new Error('getter'); } };
    const ok = instrumentFlagSyncClient(serverClient({ f: 1 }));
    expect(() => ok.track({ key: 'u' }, 'e', 1, circular)).not.toThrow();
    expect(ok.flag(hostile, 'f')).toBe(1);
    expect(() => ok.track(null as never, 'e')).not.toThrow();
    expect(() => ok.track({ key: 'u' }, '')).not.toThrow();
  });

  it('records flag() as a span event with semconv and FlagSync attributes', async () => {
    otel = setupOtel();
    const client = instrumentFlagSyncClient(serverClient({ 'register-button-copy': 'Join Now' }));
    otel.tracer.startActiveSpan('r', (span) => {
      client.flag({ key: 'user-1', attributes: { plan: 'pro' } }, 'register-button-copy', 'Register');
      span.end();
    });
    const { spans, logs } = await flushed(otel);
    expect(logs).toHaveLength(0);
    expect(spans[0]!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'feature_flag.evaluation',
        {
          'feature_flag.key': 'register-button-copy',
          'feature_flag.provider.name': 'FlagSync',
          'feature_flag.context.id': 'user-1',
          'feature_flag.result.reason': 'unknown',
          'flagsync.value': '"Join Now"',
          'feature_flag.result.value': 'Join Now',
          'flagsync.context.attributes': '{"plan":"pro"}',
        },
      ],
    ]);
  });

  it('does not call the SDK track(): this package delivers the event', async () => {
    otel = setupOtel();
    const raw = serverClient({});
    const client = instrumentFlagSyncClient(raw);
    expect(client.track({ key: 'u' }, 'purchase_event', 3, { a: 1 })).toBeUndefined();
    expect(raw.calls.filter((c) => c[0] === 'track')).toHaveLength(0);
    const { logs } = await flushed(otel);
    expect(logs.map((l) => l.eventName)).toEqual(['flagsync.track']);
  });

  it('with the delivery guard on, tells a missing flag apart and marks it as no impression', async () => {
    otel = setupOtel();
    guardAxios({ Axios: class { _request() { return Promise.resolve(); } } });
    const raw = serverClient({ present: 'x' });
    const client = instrumentFlagSyncClient(raw);
    await Promise.resolve();
    otel.tracer.startActiveSpan('r', (span) => {
      expect(client.flag({ key: 'u' }, 'missing', 'dflt')).toBe('dflt');
      expect(client.flag({ key: 'u' }, 'missing')).toBe('control');
      expect(client.flag({ key: 'u' }, 'present', 'dflt')).toBe('x');
      span.end();
    });
    const { spans } = await flushed(otel);
    expect(spans[0]!.events.map((e) => [e.attributes?.['feature_flag.result.reason'], e.attributes?.['error.type'], e.attributes?.['flagsync.impression']])).toEqual([
      ['error', 'flag_not_found', false],
      ['error', 'flag_not_found', false],
      ['unknown', undefined, undefined],
    ]);
  });

  it('falls back to a log-based event when no span is active or the span is sampled out', async () => {
    otel = setupOtel({ sampler: new AlwaysOffSampler() });
    const instrumenter = createClientInstrumenter({}, () => true);
    const client = instrumenter.wrap(serverClient({ f: true }));
    client.flag({ key: 'u' }, 'f');
    otel.tracer.startActiveSpan('sampled-out', (span) => {
      expect(span.isRecording()).toBe(false);
      client.flag({ key: 'u' }, 'f');
      client.track({ key: 'u' }, 'e');
      span.end();
    });
    const { spans, logs } = await flushed(otel);
    expect(spans).toHaveLength(0);
    expect(logs.map((l) => l.eventName)).toEqual(['feature_flag.evaluation', 'feature_flag.evaluation', 'flagsync.track']);
    expect(instrumenter.stats).toEqual({ spanEvents: 0, logEvents: 3, dropped: 0 });
  });

  it('drops (counted, reported once) when asked to, or when no LoggerProvider exists', async () => {
    const warnings: string[] = [];
    diag.setLogger({ warn: (...args: unknown[]) => warnings.push(args.join(' ')), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
    otel = setupOtel({ withLogs: false });
    const dropping = createClientInstrumenter({ noRecordingSpan: 'drop' }, () => true);
    dropping.wrap(serverClient({ f: 1 })).flag({ key: 'u' }, 'f');
    const noLogs = createClientInstrumenter({}, () => true);
    const client = noLogs.wrap(serverClient({ f: 1 }));
    client.flag({ key: 'u' }, 'f');
    client.flag({ key: 'u' }, 'f');
    expect(dropping.stats.dropped).toBe(1);
    expect(noLogs.stats.dropped).toBe(2);
    // Invalid track() calls: counted, reported once, no log flood.
    const bad = createClientInstrumenter({}, () => true);
    for (let i = 0; i < 3; i++) bad.wrap(serverClient({})).track({ nokey: true } as never, 'e');
    expect(bad.stats.dropped).toBe(3);
    expect(warnings.filter((w) => w.includes('track() not recorded'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('no LoggerProvider'))).toHaveLength(1);
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
    expect(spans[0]!.events.map((e) => e.name)).toEqual(['app-event', 'feature_flag.evaluation', 'feature_flag.evaluation', 'feature_flag.evaluation']);
    expect(spans[0]!.droppedEventsCount).toBe(0);
    expect(logs.map((l) => l.attributes['feature_flag.context.id'])).toEqual(['u3', 'u4']);
  });

  it('records in the log form by choice, per signal', async () => {
    otel = setupOtel();
    const client = instrumentFlagSyncClient(serverClient({ f: 1 }), { flagSignal: 'log' });
    otel.tracer.startActiveSpan('r', (span) => {
      client.flag({ key: 'u' }, 'f');
      client.track({ key: 'u' }, 'e', 1);
      span.end();
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
    otel.tracer.startActiveSpan('r', (span) => {
      client.flag({ key: 'u', attributes: { email: 'a@b.c', plan: 'pro' } }, 'f');
      client.track({ key: 'u', attributes: { email: 'a@b.c' } }, 'e');
      span.end();
    });
    const { spans } = await flushed(otel);
    const [flag, track] = spans[0]!.events.map((e) => e.attributes!);
    expect(flag!['feature_flag.context.id']).toBe('h(u)');
    expect(track!['flagsync.context.key']).toBe('h(u)');
    expect(JSON.stringify(spans[0]!.events)).not.toContain('a@b.c');
    expect(JSON.stringify(spans[0]!.events)).not.toContain('secret-config');
  });

  it('records js-sdk shaped clients with the core context, flags() included', async () => {
    otel = setupOtel();
    const raw = { core: { key: 'browser-user', attributes: { plan: 'free' } }, flag: (k: string, d?: unknown) => (k === 'a' ? 1 : (d ?? 'control')), flags: () => ({ a: 1, b: 'x' }), track: (..._args: unknown[]) => undefined };
    const client = instrumentFlagSyncClient(raw);
    otel.tracer.startActiveSpan('r', (span) => {
      client.flag('a');
      client.flags();
      client.track('clicked', null);
      span.end();
    });
    const { spans } = await flushed(otel);
    expect(spans[0]!.events.map((e) => [e.name, e.attributes?.['feature_flag.key'] ?? e.attributes?.['flagsync.event.key'], e.attributes?.['flagsync.context.attributes']])).toEqual([
      ['feature_flag.evaluation', 'a', '{"plan":"free"}'],
      ['feature_flag.evaluation', 'a', '{"plan":"free"}'],
      ['feature_flag.evaluation', 'b', '{"plan":"free"}'],
      ['flagsync.track', 'clicked', '{"plan":"free"}'],
    ]);
  });

  it('passes straight through to the SDK while disabled', async () => {
    otel = setupOtel();
    let enabled = false;
    const raw = serverClient({ f: 1 });
    const client = createClientInstrumenter({}, () => enabled).wrap(raw);
    client.flag({ key: 'u' }, 'f');
    client.track({ key: 'u' }, 'e', 1);
    expect(raw.calls.map((c) => c[0])).toEqual(['flag', 'track']);
    enabled = true;
    client.track({ key: 'u' }, 'e', 1);
    expect(raw.calls.map((c) => c[0])).toEqual(['flag', 'track']);
    const { logs } = await flushed(otel);
    expect(logs).toHaveLength(1);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
