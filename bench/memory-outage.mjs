// Memory under a FlagSync outage: an app emitting 10,000 events/s (flag() + track(), in-process
// exporters, default queue bound) while FlagSync (the stand-in) is down for OUTAGE_S seconds, then
// back. Reports peak RSS against the queue bound, and delivered/dropped against what was emitted.
import { CLI, ROOT, freePort, startNode } from './spawn.mjs';
import { join } from 'node:path';
import { writeResult } from './lib.mjs';

const OUTAGE_S = Number(process.env.OUTAGE_S ?? 120);
const RATE = 10_000;
const port = await freePort();
const standInArgs = [CLI, 'standin', '--port', String(port)];
let standIn = startNode(standInArgs);
const url = await standIn.first;

const app = startNode([join(ROOT, 'bench/app-load.mjs')], {
  MODE: 'inprocess',
  RATE: String(RATE),
  DURATION_S: String(OUTAGE_S),
  IDLE_AFTER_S: '6',
  STANDIN_URL: url,
  FLAGSYNC_SDK_KEY: 'standin-sdk-key',
  FLAGSYNC_EVENTS_URL: url,
});
await app.first; // SDK ready (flag rules loaded): now take FlagSync down
standIn.child.kill('SIGTERM');
await standIn.exited;
const downAt = Date.now();
await new Promise((r) => setTimeout(r, OUTAGE_S * 1000 + 1000));
standIn = startNode(standInArgs); // FlagSync is back, while the app idles before shutting down
await standIn.first;
const upAfter = (Date.now() - downAt) / 1000;
await app.exited;
const result = JSON.parse(app.last());
const counts = await (await fetch(`${url}/__standin/counts`)).json();
standIn.child.kill('SIGTERM');

// The two exporters are set up alike, so they share one delivery engine (shared-engine.ts) and
// report the same stats: count them once.
const shared = JSON.stringify(result.spanExporter) === JSON.stringify(result.logExporter);
const lanes = [
  result.spanExporter.impressions,
  result.spanExporter.events,
  ...(shared ? [] : [result.logExporter.impressions, result.logExporter.events]),
];
const sum = (field) => lanes.reduce((a, l) => a + l[field], 0);
const summary = {
  ratePerSecond: RATE,
  outageSeconds: Math.round(upAfter),
  emitted: result.calls,
  recorded: result.recorder,
  delivered: sum('delivered'),
  dropped: sum('dropped'),
  failed: sum('failed'),
  receivedByFlagSync: counts.impressions + counts.events,
  deliveredPlusDroppedPlusFailedEqualsEmitted: sum('delivered') + sum('dropped') + sum('failed') === result.calls,
  rssBaselineMiB: result.rssBaselineMiB,
  rssPeakMiB: result.rssPeakMiB,
  queueBound: 'maxQueueSize 50,000 items per route and exporter (default)',
};
writeResult('memory-outage', summary);
console.log(JSON.stringify(summary, null, 2));
