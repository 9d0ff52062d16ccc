/** TLS, bearer auth, and secrets that never show up in any output of a faulty run. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDeliveryConfig } from '../../src/config/delivery-config.js';
import { DeliveryEngine } from '../../src/delivery/delivery-engine.js';
import { startFlagSyncService } from '../../src/service/flagsync-service.js';
import { startStandIn, type StandIn } from '../../src/standin/server.js';
import { captureDiag } from '../utils/diag-capture.js';
import { freePort, startServiceProcess } from '../utils/processes.js';

const SDK_KEY = 'server-sdk-key-SECRET-7f3a9c';
const TOKEN = 'bearer-token-SECRET-0123456789';
let standIn: StandIn;

beforeAll(async () => {
  // FlagSync knows another key: every delivery is refused with 401.
  standIn = await startStandIn({ sdkKeys: ['the-right-key'] });
});
afterAll(() => standIn.close());

const logsBody = JSON.stringify({
  resourceLogs: [
    {
      scopeLogs: [
        {
          logRecords: [
            {
              timeUnixNano: '1795000000000000000',
              observedTimeUnixNano: '1',
              eventName: 'flagsync.track',
              attributes: [
                { key: 'flagsync.event.key', value: { stringValue: 'e' } },
                { key: 'flagsync.context', value: { stringValue: '{"key":"u"}' } },
              ],
            },
          ],
        },
      ],
    },
  ],
});

describe('TLS', () => {
  it('serves HTTPS with the configured certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flagsync-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const good = await startStandIn({ sdkKeys: [SDK_KEY] });
    const service = await startFlagSyncService({
      port: 0,
      sdkKey: SDK_KEY,
      eventsUrl: good.url,
      tlsCertFile: join(dir, 'cert.pem'),
      tlsKeyFile: join(dir, 'key.pem'),
    });
    try {
      expect(service.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
      const res = await request(`${service.url}/v1/logs`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json' },
        body: logsBody,
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      expect(good.events()).toHaveLength(1);
      // Without trusting the certificate, the connection is refused by the client.
      await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
      await dispatcher.close();
    } finally {
      await service.close(1000);
      await good.close();
    }
  });

  it('needs both files', async () => {
    await expect(startFlagSyncService({ port: 0, sdkKey: SDK_KEY, tlsCertFile: '/nonexistent.pem' })).rejects.toThrow(
      'TLS needs both a certificate and a key',
    );
    await expect(
      startFlagSyncService({
        port: 0,
        sdkKey: SDK_KEY,
        tlsCertFile: '/nonexistent.pem',
        tlsKeyFile: '/nonexistent-key.pem',
      }),
    ).rejects.toThrow('cannot read the TLS certificate file /nonexistent.pem: ENOENT');
  });
});

describe('secrets never appear in output', () => {
  it('a faulty run of the service process: logs, answers and metrics hold neither the SDK key nor the token', async () => {
    const service = await startServiceProcess({
      FLAGSYNC_SDK_KEY: SDK_KEY,
      FLAGSYNC_EVENTS_URL: standIn.url,
      FLAGSYNC_SERVICE_PORT: String(await freePort()),
      FLAGSYNC_SERVICE_BEARER_TOKEN: TOKEN,
      FLAGSYNC_SERVICE_ACK_TIMEOUT: '2000',
      OTEL_LOG_LEVEL: 'debug',
    });
    const answers: string[] = [];
    const post = async (headers: Record<string, string>) => {
      const res = await fetch(`${service.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: logsBody,
      });
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
      return res.status;
    };
    expect(await post({ authorization: `Bearer ${TOKEN}` })).toBe(503); // FlagSync refuses the key: keep the data
    expect(await post({ authorization: `Bearer ${TOKEN.slice(0, -1)}x` })).toBe(401);
    expect(await post({})).toBe(401);
    answers.push(await (await fetch(`${service.url}/metrics`)).text());
    await service.stop('SIGTERM');
    const everything = [service.stderr(), ...answers].join('\n');
    expect(service.stderr()).toContain('FlagSync answered 401 INVALID_SDK_KEY');
    expect(everything).not.toContain(SDK_KEY);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(0, -1));
  });

  it('in-process delivery: diag output and errors hold no key, even when FlagSync echoes it', async () => {
    const echo = await startStandIn({ sdkKeys: ['other'] });
    const logs = captureDiag();
    try {
      // A transport error whose message contains the key (say, a proxy echoing headers) is scrubbed.
      const engine = new DeliveryEngine(
        resolveDeliveryConfig(
          {
            sdkKey: SDK_KEY,
            eventsUrl: `http://user:${SDK_KEY}@127.0.0.1:9`,
            flushIntervalMillis: 10,
            timeoutMillis: 200,
          },
          {},
        ),
      );
      engine.addEvent({ context: { key: 'u' }, eventKey: 'e', timestamp: '2026-11-25T10:00:00.000Z' });
      await engine.shutdown(500);
      const engine2 = new DeliveryEngine(
        resolveDeliveryConfig({ sdkKey: SDK_KEY, eventsUrl: echo.url, flushIntervalMillis: 10 }, {}),
      );
      engine2.addEvent({ context: { key: 'u' }, eventKey: 'e', timestamp: '2026-11-25T10:00:00.000Z' });
      await engine2.shutdown(2000);
      let thrown = '';
      try {
        resolveDeliveryConfig({ sdkKey: SDK_KEY, eventsUrl: 'ftp://nope' }, {});
      } catch (error) {
        thrown = String(error);
      }
      expect(logs.text()).toContain('FlagSync answered 401');
      expect(logs.text() + thrown).not.toContain(SDK_KEY);
    } finally {
      logs.restore();
      await echo.close();
    }
  });
});

describe('limits', () => {
  it('answers 503 with Retry-After beyond maxConcurrentRequests', async () => {
    const slow = await startStandIn({ sdkKeys: [SDK_KEY] });
    slow.addFault({ delayMs: 800, times: Infinity }); // FlagSync takes its time: the first request stays in flight
    const service = await startFlagSyncService({
      port: 0,
      sdkKey: SDK_KEY,
      eventsUrl: slow.url,
      maxConcurrentRequests: 1,
      flushIntervalMillis: 10,
    });
    try {
      const post = () =>
        fetch(`${service.url}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: logsBody,
        });
      const first = post();
      await new Promise((r) => setTimeout(r, 200));
      const second = await post();
      expect([second.status, second.headers.get('retry-after')]).toEqual([503, '1']);
      expect(await second.json()).toEqual({ code: 14, message: 'too many requests in flight' });
      expect((await first).status).toBe(200);
    } finally {
      await service.close(2000);
      await slow.close();
    }
  });
});

describe('exposure', () => {
  it('warns when listening beyond loopback without a bearer token, and not with one', async () => {
    const diagLines = captureDiag();
    try {
      for (const bearerToken of [undefined, TOKEN]) {
        const service = await startFlagSyncService({
          host: '0.0.0.0',
          port: 0,
          sdkKey: SDK_KEY,
          eventsUrl: standIn.url,
          ...(bearerToken ? { bearerToken } : {}),
        });
        await service.close(500);
      }
      const warnings = diagLines.lines.filter(
        (l) => l.level === 'warn' && l.text.includes('beyond loopback without a bearer token'),
      );
      expect(warnings).toHaveLength(1);
      expect(diagLines.text()).not.toContain(SDK_KEY);
    } finally {
      diagLines.restore();
    }
  });
});

describe('slow clients', () => {
  it('a slow-loris upload is cut off at the request timeout while other requests are served', async () => {
    const good = await startStandIn({ sdkKeys: [SDK_KEY] });
    const service = await startFlagSyncService({
      port: 0,
      sdkKey: SDK_KEY,
      eventsUrl: good.url,
      requestTimeoutMillis: 1500,
      flushIntervalMillis: 10,
    });
    const { connect } = await import('node:net');
    try {
      const url = new URL(service.url);
      const socket = connect(Number(url.port), url.hostname);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(
        `POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
      );
      const trickle = setInterval(() => socket.writable && socket.write(' '), 200);
      // Meanwhile a normal client is served.
      const res = await fetch(`${service.url}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: logsBody,
      });
      expect(res.status).toBe(200);
      await closed;
      clearInterval(trickle);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await service.close(1000);
      await good.close();
    }
  });
});
