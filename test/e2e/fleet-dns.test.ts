/**
 * The agent's dns resolver, as collector-config.agent.yaml documents it in a comment (on Kubernetes,
 * a headless Service): the shipped agent configuration with those lines in place of the static list,
 * the hostname `localhost`, in front of a real gateway; every impression reaches FlagSync once.
 * One gateway only: on this machine every name resolves to 127.0.0.1 alone (no ::1 entry), and the
 * resolver gives each address the same port, so two gateways cannot both be found by one name here.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY, type StandIn } from '../../src/standin/server.js';
import { FleetMember, GATEWAY_TOKEN, newGateway } from '../utils/fleet.js';
import { contextKeys, manyEvaluationsRequest, postTraces, userKeys } from '../utils/otlp-request.js';
import { freePort, ROOT, waitUntil } from '../utils/processes.js';

let standIn: StandIn;
const started: FleetMember[] = [];

beforeAll(async () => {
  standIn = await startStandIn();
});

afterAll(async () => {
  for (const member of started) await member.stop();
  await standIn?.close();
});

/** collector-config.agent.yaml with its commented dns resolver in place of the static one. */
function dnsAgentConfig(hostname: string, port: number): string {
  const shipped = readFileSync(join(ROOT, 'collector-config.agent.yaml'), 'utf8');
  const documented = /^( +)# dns:\n\1# {3}hostname: .*\n\1# {3}port: .*\n\1# {3}interval: (.*)\n/m.exec(shipped);
  if (!documented) throw new Error('collector-config.agent.yaml: the commented dns resolver is not where it was');
  const indent = documented[1];
  const dns = `${indent}dns:\n${indent}  hostname: ${hostname}\n${indent}  port: "${port}"\n${indent}  interval: ${documented[2]}\n`;
  const config = shipped.replace(documented[0], '').replace(/^( +)static:\n\1 {2}hostnames: .*\n/m, () => dns);
  expect(config).not.toContain('static:');
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-dns-')), 'agent.yaml');
  writeFileSync(file, config);
  return file;
}

it('an agent whose dns resolver finds the gateway by name: every impression once', async () => {
  const gateway = await newGateway('dns-gateway', {
    flagsyncEndpoint: standIn.url,
    sdkKey: STANDIN_DEFAULT_SDK_KEY,
    derivedEvents: [],
    storeDsn: '',
  });
  started.push(gateway);
  const queueDir = mkdtempSync(join(tmpdir(), 'fleet-dns-agent-'));
  const ports = { grpc: await freePort(), http: await freePort(), health: await freePort(), metrics: await freePort() };
  const agent = new FleetMember('agent', dnsAgentConfig('localhost', gateway.ports.grpc), ports, queueDir, {
    FLAGSYNC_AGENT_QUEUE_DIR: queueDir,
    FLAGSYNC_GATEWAY_INSECURE: 'true',
    FLAGSYNC_GATEWAY_BEARER_TOKEN: GATEWAY_TOKEN,
  });
  started.push(agent);
  await agent.start();
  // 10 requests of 20 spans (their own traces), 2 evaluations each: 400 impressions.
  for (let n = 0; n < 10; n++) {
    const body = manyEvaluationsRequest({ spans: 20, perSpan: 2, offset: n * 40 });
    await waitUntil(async () => (await postTraces(agent.otlpHttp, body)) === 200, 60_000, `request ${n} taken`);
  }
  await waitUntil(() => standIn.impressions().length >= 400, 120_000, 'every impression at FlagSync');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(contextKeys(standIn.impressions())).toEqual(userKeys(400));
  // Through the gateway the resolver found (the agent has no other way to FlagSync).
  expect(await gateway.metric('otelcol_receiver_accepted_spans')).toBe(200);
}, 180_000);
