/**
 * The in-process exporters as an app's processors use them, over real HTTP to the stand-in: both
 * exporters of one process share one delivery engine, and export() reports the items it drops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadSize } from '../../src/convert/payload-size.js';
import { FlagSyncLogRecordExporter } from '../../src/exporters/flagsync-log-record-exporter.js';
import { FlagSyncSpanExporter } from '../../src/exporters/flagsync-span-exporter.js';
import { ownContext } from '../../src/instrumentation/claims.js';
import { giveBack, handOver, handoverStats, resetHandover, type Claim } from '../../src/instrumentation/handover.js';
import { EXPORT_FAILED, EXPORT_SUCCESS } from '../../src/otel/sdk-contract.js';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { exported, spanWith, trackLogRecord } from '../utils/exporter-input.js';

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn();
});
afterAll(() => standIn.close());

describe('FlagSync exporters in one process', () => {
  it('share one delivery engine when set up alike: one queue bound, one set of counts, delivery until the last shuts down', async () => {
    standIn.reset();
    const options = {
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      flushIntervalMillis: 20,
      maxQueueSize: 3,
    };
    const spans = new FlagSyncSpanExporter(options);
    const logs = new FlagSyncLogRecordExporter(options);
    expect((await exported(spans, [spanWith(['s1', 's2'])])).code).toBe(EXPORT_SUCCESS);
    expect((await exported(logs, [trackLogRecord('l1')])).code).toBe(EXPORT_SUCCESS);
    // Counts are the shared engine's, whichever exporter is asked.
    await spans.forceFlush();
    expect(logs.stats().impressions.delivered).toBe(2);
    expect(spans.stats().events.delivered).toBe(1);
    // One exporter shut down: the other still delivers.
    await spans.shutdown();
    expect((await exported(spans, [spanWith(['late'])])).code).toBe(EXPORT_FAILED);
    expect((await exported(logs, [trackLogRecord('l2')])).code).toBe(EXPORT_SUCCESS);
    await logs.shutdown();
    expect(standIn.impressions().map((i) => (i.context as { key: string }).key)).toEqual(['s1', 's2']);
    expect(standIn.events().map((e) => (e.context as { key: string }).key)).toEqual(['l1', 'l2']);
  });

  it('export() reports failure when items were dropped (queue full), so the SDK processor sees it', async () => {
    standIn.reset();
    standIn.addFault({ status: 503, times: Infinity });
    const exporter = new FlagSyncSpanExporter({
      sdkKey: STANDIN_DEFAULT_SDK_KEY,
      eventsUrl: standIn.url,
      maxQueueSize: 2,
      flushIntervalMillis: 5000,
      shutdownTimeoutMillis: 0,
    });
    expect((await exported(exporter, [spanWith(['a', 'b'])])).code).toBe(EXPORT_SUCCESS);
    const full = await exported(exporter, [spanWith(['c', 'd', 'e'])]);
    expect(full.code).toBe(EXPORT_FAILED);
    expect(full.error?.message).toBe('3 FlagSync items dropped (queue full or not convertible); see stats()');
    expect(exporter.stats().impressions.dropped).toBe(3);
    standIn.clearFaults();
    await exporter.shutdown();
  });

  it('export() reports failure for FlagSync data it cannot convert, and ignores events cut by attribute limits', async () => {
    const exporter = new FlagSyncSpanExporter({ sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url });
    const cut = spanWith(['user-with-a-long-key']);
    cut.events[0]!.attributes['flagsync.context'] = '{"key":"user-with-a';
    expect((await exported(exporter, [cut])).code).toBe(EXPORT_SUCCESS);
    expect(exporter.stats().damaged).toBe(1);
    const bad = spanWith(['x']);
    bad.events[0]!.attributes['flagsync.value'] = '{not json';
    bad.events[0]!.attributes['flagsync.size'] = payloadSize(bad.events[0]!.attributes);
    const result = await exported(exporter, [bad]);
    expect(result.code).toBe(EXPORT_FAILED);
    expect(exporter.stats().rejected).toEqual({ 'flagsync.value is not valid JSON': 1 });
    await exporter.shutdown();
  });

  it('a queued call given back to the SDK meanwhile (the app ended) is not sent; the others are', async () => {
    standIn.reset();
    resetHandover();
    standIn.addFault({ status: 503, times: Infinity });
    const logs = new FlagSyncLogRecordExporter({ sdkKey: STANDIN_DEFAULT_SDK_KEY, eventsUrl: standIn.url });
    const claims: Claim[] = [];
    const records = ['kept', 'given-back'].map((user) => {
      const record = trackLogRecord(user);
      record.body['flagsync.delivery'] = 'exporter';
      record.body['flagsync.size'] = payloadSize(record.body);
      const claim = ownContext({ key: user }) as Claim;
      handOver(claim, 'exporter', record.body['flagsync.call_id'], record.body, true);
      claims.push(claim);
      return record;
    });
    expect((await exported(logs, records)).code).toBe(EXPORT_SUCCESS);
    // Taken and queued; FlagSync refuses for now. One call goes back to its SDK meanwhile.
    await new Promise((r) => setTimeout(r, 50));
    giveBack([claims[1]!], 'shutdown');
    standIn.clearFaults();
    await logs.forceFlush();
    expect(standIn.events().map((e) => (e.context as { key: string }).key)).toEqual(['kept']);
    expect(logs.stats().events).toMatchObject({ delivered: 1, withdrawn: 1 });
    expect(handoverStats()).toMatchObject({ handedOver: 2, receipted: 1, pending: 0 });
    await logs.shutdown();
    resetHandover();
  });
});
