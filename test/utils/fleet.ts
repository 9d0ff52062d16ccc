/**
 * A collector fleet as real processes: one agent (collector-config.agent.yaml, load_balancing by
 * trace id) in front of gateways (the flagsync exporter), each gateway with its own queue directory
 * and, when given, the shared PostgreSQL store (scripts/postgres.sh). Every process keeps its ports
 * and queue directory across restarts, as a pod on a volume would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { freePort, metricValue, ROOT, waitUntil } from './processes.js';

/** The token the agent presents to the gateways (FLAGSYNC_GATEWAY_BEARER_TOKEN on both tiers). */
export const GATEWAY_TOKEN = 'fleet-test-gateway-token-0123456789';

/** How long a killed gateway's claims hold in the test (the default, 2 min, would only make it slower). */
const CLAIM_TIMEOUT = '15s';

/**
 * collector-config.gateway.yaml as shipped (its shared store takes FLAGSYNC_STORE_DSN), with a
 * shorter claim_timeout, so a SIGKILLed gateway's claims expire within the test's wait.
 */
function gatewayConfig(): string {
  const doc = parseDocument(readFileSync(join(ROOT, 'collector-config.gateway.yaml'), 'utf8'));
  const postgres = ['exporters', 'flagsync', 'delivery_store', 'postgres'];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the collector's env syntax, not a template
  const dsn = '${env:FLAGSYNC_STORE_DSN:-}';
  if (!doc.hasIn([...postgres, 'dsn'])) doc.setIn([...postgres, 'dsn'], dsn);
  doc.setIn([...postgres, 'claim_timeout'], CLAIM_TIMEOUT);
  const file = join(mkdtempSync(join(tmpdir(), 'fleet-config-')), 'gateway.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

let binary: string | undefined;
/** The test collector (cached by scripts/build-collector.sh). */
function collectorBinary(): string {
  binary ??= execFileSync('bash', [join(ROOT, 'scripts/build-collector.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return binary;
}

interface Ports {
  grpc: number;
  http: number;
  health: number;
  metrics: number;
}

const newPorts = async (): Promise<Ports> => ({
  grpc: await freePort(),
  http: await freePort(),
  health: await freePort(),
  metrics: await freePort(),
});

/** One collector process of the fleet; start() again after stop() restarts it on the same ports and disk. */
export class FleetMember {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(
    readonly name: string,
    private readonly config: string,
    readonly ports: Ports,
    readonly queueDir: string,
    private env: Record<string, string>,
  ) {}

  get otlpHttp(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  /** Where the agent sends: OTLP/gRPC. */
  get otlpGrpc(): string {
    return `127.0.0.1:${this.ports.grpc}`;
  }

  get metricsUrl(): string {
    return `http://127.0.0.1:${this.ports.metrics}/metrics`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.log;
  }

  /** Its error lines. */
  errors(): string[] {
    return this.log.split('\n').filter((line) => line.includes('\terror\t'));
  }

  /** Changes settings for the next start (the agent's gateway list). */
  setEnv(more: Record<string, string>): void {
    this.env = { ...this.env, ...more };
  }

  async start(): Promise<void> {
    const child = spawn(collectorBinary(), ['--config', this.config], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${this.ports.http}`,
        OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${this.ports.grpc}`,
        OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${this.ports.health}`,
        OTELCOL_METRICS_PORT: String(this.ports.metrics),
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.log += `--- ${this.name} started\n`;
    child.stdout!.on('data', (c: Buffer) => (this.log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited: ${this.log.slice(-3000)}`);
        return (await fetch(`http://127.0.0.1:${this.ports.health}/`)).ok;
      },
      60_000,
      `${this.name} health`,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${this.log.slice(-3000)}`);
    });
  }

  /** SIGTERM (a rolling deploy: drains and exits) or SIGKILL (a crash); waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.child!.kill(signal);
    await this.exited;
  }

  /** A counter or gauge of this collector's own metrics, summed over the series matching `labels`. */
  metric(name: string, labels = ''): Promise<number> {
    return metricValue(this.metricsUrl, name, labels);
  }
}

export interface GatewayOptions {
  flagsyncEndpoint: string;
  sdkKey: string;
  /** derived_events rules (snake_case). */
  derivedEvents: unknown[];
  /** The shared store's DSN; empty: each gateway's local store. */
  storeDsn: string;
}

export async function newGateway(name: string, options: GatewayOptions): Promise<FleetMember> {
  const queueDir = mkdtempSync(join(tmpdir(), `fleet-${name}-`));
  const member = new FleetMember(name, gatewayConfig(), await newPorts(), queueDir, {
    FLAGSYNC_GATEWAY_BEARER_TOKEN: GATEWAY_TOKEN,
    FLAGSYNC_QUEUE_DIR: queueDir,
    FLAGSYNC_ENDPOINT: options.flagsyncEndpoint,
    FLAGSYNC_SDK_KEY: options.sdkKey,
    FLAGSYNC_DERIVED_EVENTS: JSON.stringify(options.derivedEvents),
    FLAGSYNC_STORE_DSN: options.storeDsn,
  });
  await member.start();
  return member;
}

/** The agent (collector-config.agent.yaml as shipped), static resolver over `gateways`. */
export async function newAgent(gateways: FleetMember[], more: Record<string, string> = {}): Promise<FleetMember> {
  const queueDir = mkdtempSync(join(tmpdir(), 'fleet-agent-'));
  const member = new FleetMember('agent', join(ROOT, 'collector-config.agent.yaml'), await newPorts(), queueDir, {
    FLAGSYNC_AGENT_QUEUE_DIR: queueDir,
    FLAGSYNC_GATEWAY_INSECURE: 'true',
    FLAGSYNC_GATEWAY_BEARER_TOKEN: GATEWAY_TOKEN,
    ...gatewayList(gateways),
    ...more,
  });
  await member.start();
  return member;
}

/** The static resolver's list, as the agent's environment gives it. */
export const gatewayList = (gateways: FleetMember[]) => ({
  FLAGSYNC_GATEWAYS: `[${gateways.map((g) => g.otlpGrpc).join(', ')}]`,
});

/** Bytes (or requests) in a collector's sending queues: 0 once everything was handed on. */
export const queued = (member: FleetMember) => member.metric('otelcol_exporter_queue_size');

export interface Postgres {
  dsn: string;
  stop(): void;
}

/** A throwaway PostgreSQL server (scripts/postgres.sh). */
export function startPostgres(): Postgres {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-pg-'));
  rmSync(dir, { recursive: true });
  const dsn = execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'start', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return {
    dsn,
    stop: () => execFileSync('bash', [join(ROOT, 'scripts/postgres.sh'), 'stop', dir], { stdio: 'inherit' }),
  };
}
