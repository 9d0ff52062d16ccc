/**
 * A collector fleet under faults, all real processes: one agent (collector-config.agent.yaml:
 * load_balancing by trace id, persistent queue) in front of 3 gateways (the flagsync exporter, each
 * with its own queue directory, sharing a real PostgreSQL store), the FlagSync stand-in behind them.
 * The app (real OTel SDK, real node-sdk, the instrumentation in collector mode, the README's two
 * derived-event rules) records checkout requests with 2 flag() each, track() on 4 in 5 and a track()
 * outside any span (a log record, no trace id) on 1 in 5; its OTLP bodies are sent to the agent and
 * retried until answered 2xx, as an app's exporter does.
 * Each scenario ends with exactly the expected impressions and events at FlagSync, each once:
 * nothing lost, nothing twice, every derived event once.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { compare, identities, README_RULES, recordApp, Sender, type AppRun } from '../utils/fleet-app.js';
import {
  GATEWAY_TOKEN,
  gatewayList,
  newAgent,
  newGateway,
  queued,
  startPostgres,
  type FleetMember,
  type Postgres,
} from '../utils/fleet.js';
import { waitUntil } from '../utils/processes.js';

/**
 * Checkout requests per scenario (2 impressions, 0.8 tracked events and 2 derived events each).
 * bench/fleet.mjs runs this file with 20,000 and FLEET_RESULTS set, to record what each scenario took.
 */
const REQUESTS = Number(process.env.FLEET_REQUESTS ?? 500);
/** Waits and test timeouts grow with the run. */
const SCALE = Math.max(1, REQUESTS / 500);
const TEST_TIMEOUT = 180_000 * SCALE;
const figures: Record<string, unknown>[] = [];

let standIn: StandIn;
/** Where the app's FlagSync SDK reads its flags (its own copies of the calls go there, never counted). */
let flags: StandIn;
let postgres: Postgres;
let gateways: FleetMember[];
let agent: FleetMember;
let nextUser = 0;

const gatewayOptions = () => ({
  flagsyncEndpoint: standIn.url,
  sdkKey: STANDIN_DEFAULT_SDK_KEY,
  derivedEvents: README_RULES,
  storeDsn: postgres.dsn,
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  standIn = await startStandIn();
  flags = await startStandIn();
  postgres = startPostgres();
  gateways = [];
  for (let i = 1; i <= 3; i++) gateways.push(await newGateway(`gateway-${i}`, gatewayOptions()));
  agent = await newAgent(gateways);
}, 600_000);

afterAll(async () => {
  if (process.env.FLEET_RESULTS) writeFileSync(process.env.FLEET_RESULTS, `${JSON.stringify(figures, null, 2)}\n`);
  for (const member of [agent, ...(gateways ?? [])]) await member?.stop();
  postgres?.stop();
  await standIn?.close();
  await flags?.close();
});

/** A fresh app run for new users. */
async function record(): Promise<AppRun> {
  const app = await recordApp({ requests: REQUESTS, first: nextUser, flagsUrl: flags.url });
  nextUser += REQUESTS;
  return app;
}

/**
 * Waits until FlagSync has at least what is expected and every queue of the fleet is empty, then
 * compares identities: what is missing, twice, or not expected.
 */
async function expectExactlyOnce(app: AppRun): Promise<void> {
  const { impressions, events } = app.expected;
  const drained = async () => {
    for (const member of [agent, ...gateways]) if ((await queued(member)) !== 0) return false;
    return true;
  };
  await waitUntil(
    async () =>
      standIn.impressions().length >= impressions.length && standIn.events().length >= events.length && drained(),
    120_000 * SCALE,
    'every item at FlagSync and every queue drained',
  ).catch(() => {
    // What is missing is reported by the comparison below; the fleet's own errors say why.
    for (const member of [agent, ...gateways]) console.error(member.name, member.errors().slice(-5).join('\n'));
  });
  // Anything sent twice would be on its way in the same breath.
  await pause(1_000);
  const received = identities({ impressions: standIn.impressions(), events: standIn.events() });
  const exact = { lost: 0, duplicated: 0, unexpected: 0, examples: [] };
  expect(compare(impressions, received.impressions)).toEqual(exact);
  expect(compare(events, received.events)).toEqual(exact);
  expect(received.impressions).toHaveLength(impressions.length);
  expect(received.events).toHaveLength(events.length);
}

/**
 * Sends the app's bodies paced like a live app (a fault can land mid-stream), running `fault`
 * meanwhile, then checks that FlagSync has every item once; records what the scenario took.
 */
async function run(name: string, app: AppRun, fault?: (sender: Sender) => Promise<void>): Promise<void> {
  standIn.reset();
  const started = Date.now();
  const sender = new Sender(() => agent.otlpHttp, 2, 40);
  const sending = sender.send(app.bodies);
  await fault?.(sender);
  await sending;
  await expectExactlyOnce(app);
  const items = app.expected.impressions.length + app.expected.events.length;
  const seconds = (Date.now() - started) / 1000;
  figures.push({
    name,
    requests: REQUESTS,
    bodies: app.bodies.length,
    items,
    seconds,
    refused: sender.refused + sender.failed,
  });
}

/** Resolves once the app has been answered for this share of its requests. */
const progress = (sender: Sender, app: AppRun, share: number) =>
  waitUntil(
    () => sender.acknowledged >= Math.floor(app.bodies.length * share),
    60_000 * SCALE,
    `${share} of the requests`,
  );

describe('a fleet (agent → 3 gateways, shared store) delivers each item exactly once', () => {
  it(
    'steady state: every impression, tracked event and derived event once',
    async () => {
      const app = await record();
      expect(app.bodies.length).toBeGreaterThan(10);
      await run('steady state', app);
    },
    TEST_TIMEOUT,
  );

  it(
    'a gateway SIGKILLed mid-stream and restarted on its queue',
    async () => {
      const app = await record();
      await run('gateway SIGKILL', app, async (sender) => {
        await progress(sender, app, 0.3);
        // FlagSync holds each request for a while (storing nothing until it answers): the kill lands
        // with the gateway's requests in flight and none stored. A kill between FlagSync's answer and
        // the gateway's record cannot be told from a lost request (no idempotency key): that resend
        // is counted as unconfirmed (docs/guarantees.md; component.test.ts covers it).
        standIn.addFault({ delayMs: 2_000, times: Infinity });
        await pause(500);
        await gateways[0]!.stop('SIGKILL');
        standIn.clearFaults();
        await pause(1_500);
        await gateways[0]!.start();
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'a rolling deploy: each gateway SIGTERMed and restarted in turn',
    async () => {
      const app = await record();
      await run('rolling deploy', app, async (sender) => {
        for (const [i, gateway] of gateways.entries()) {
          await progress(sender, app, 0.2 + i * 0.2);
          await gateway.stop('SIGTERM');
          await gateway.start();
        }
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'the agent SIGKILLed with a backlog in its persistent queue (a gateway away), then restarted',
    async () => {
      const app = await record();
      await run('agent SIGKILL', app, async (sender) => {
        await progress(sender, app, 0.2);
        // The agent holds what is routed to gateway 3 on disk while it is away.
        await gateways[2]!.stop('SIGTERM');
        await progress(sender, app, 0.5);
        await agent.stop('SIGKILL');
        await gateways[2]!.start();
        await pause(1_000);
        await agent.start();
      });
    },
    TEST_TIMEOUT,
  );

  it(
    '3 → 4 gateways mid-run: the agent restarted with the new list, traces in flight change gateway',
    async () => {
      const app = await record();
      let added: FleetMember | undefined;
      await run('3 → 4 gateways', app, async (sender) => {
        await progress(sender, app, 0.4);
        added = await newGateway('gateway-4', gatewayOptions());
        gateways.push(added);
        await agent.stop('SIGTERM');
        agent.setEnv(gatewayList(gateways));
        await agent.start();
      });
      // The new gateway took its share of the traces.
      expect(await added!.metric('otelcol_exporter_flagsync_delivered')).toBeGreaterThan(0);
    },
    TEST_TIMEOUT,
  );

  it(
    'the same requests sent again after they were delivered, through the agent, then all to one gateway: nothing more reaches FlagSync',
    async () => {
      const app = await record();
      await run('re-sent', app);
      const skipped = async () => {
        let total = 0;
        for (const gateway of gateways) total += await gateway.metric('otelcol_exporter_flagsync_duplicates_skipped');
        return total;
      };
      const before = await skipped();
      await new Sender(() => agent.otlpHttp, 2, 0).send(app.bodies);
      const items = app.expected.impressions.length + app.expected.events.length;
      await waitUntil(async () => (await skipped()) - before >= items, 60_000 * SCALE, 'the second copy skipped').catch(
        () => undefined,
      );
      expect((await skipped()) - before).toBe(items);
      // Once more, every trace straight to one gateway: most of them were delivered by the others.
      const direct = new Sender(() => gateways[0]!.otlpHttp, 2, 0, { authorization: `Bearer ${GATEWAY_TOKEN}` });
      await direct.send(app.bodies);
      await waitUntil(
        async () => (await skipped()) - before >= 2 * items,
        60_000 * SCALE,
        'the third copy skipped',
      ).catch(() => undefined);
      expect((await skipped()) - before).toBe(2 * items);
      const received = identities({ impressions: standIn.impressions(), events: standIn.events() });
      expect(received.impressions).toEqual(app.expected.impressions);
      expect(received.events).toEqual(app.expected.events);
    },
    TEST_TIMEOUT,
  );
});
