/** `flagsync-otel serve`: the collector-side OTLP/HTTP service, until SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { diag } from '@opentelemetry/api';
import { envHelp } from '../../config/options-docs.js';
import { startFlagSyncService } from '../../service/flagsync-service.js';
import { untilSignal, type Command } from '../command.js';
import { jsonStderrLogger, logLevelFromEnv } from '../json-diag-logger.js';

const HELP = `Usage: flagsync-otel serve [--host 127.0.0.1] [--port 4318]

Receives OTLP/HTTP (protobuf or JSON, gzip/deflate/br/zstd) on /v1/traces and /v1/logs from an
OpenTelemetry Collector's otlp_http exporter (collector-config.sidecar.yaml), and forwards FlagSync
impressions and events to FlagSync, answering only once they are delivered. Run one beside each
collector (a sidecar); with a collector built with the flagsync exporter, no service is needed.

Environment (flags override it):
${envHelp(['delivery', 'service', 'derived'])}
  FLAGSYNC_DERIVED_EVENTS, FLAGSYNC_DERIVED_EVENTS_FILE  derived-event rules, JSON (default: none)
  OTEL_LOG_LEVEL  log level, JSON lines on stderr (default: info)
Endpoints: GET /healthz, GET /readyz, GET /metrics (Prometheus text).`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the collector-side OTLP/HTTP service that forwards to FlagSync',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    diag.setLogger(jsonStderrLogger(), {
      logLevel: logLevelFromEnv(process.env.OTEL_LOG_LEVEL),
      suppressOverrideMessage: true,
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !Number.isInteger(port)) throw new Error(`--port must be a number, got "${values.port}"`);
    const service = await startFlagSyncService({
      ...(values.host ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
    });
    process.stdout.write(`${service.url}\n`);
    const signal = await untilSignal();
    diag.info(`received ${signal}: draining`);
    await service.close();
    return 0;
  },
};
