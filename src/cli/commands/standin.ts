/** `flagsync-otel standin`: run the local FlagSync stand-in until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { startStandIn, STANDIN_DEFAULT_SDK_KEY } from '../../standin/server.js';
import { untilSignal, type Command } from '../command.js';

const HELP = `Usage: flagsync-otel standin [--port 8787] [--host 127.0.0.1] [--sdk-key KEY]...

Runs a local stand-in for FlagSync's API: the flag download routes @flagsync/node-sdk and
@flagsync/js-sdk need, and the track routes, validated strictly. Point an SDK's urls.sdk and
flagsync-otel's FLAGSYNC_EVENTS_URL at the printed URL.

Control routes: GET /__standin/received, GET /__standin/counts, GET /__standin/delays, POST /__standin/reset,
POST /__standin/faults {"status":503,"retryAfter":"2","times":3} (times null = until cleared),
DELETE /__standin/faults.`;

export const standInCommand: Command = {
  name: 'standin',
  summary: 'run a local FlagSync stand-in (for trials and tests, no network needed)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: 'string', default: '8787' },
        host: { type: 'string', default: '127.0.0.1' },
        'sdk-key': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be 0..65535, got "${values.port}"`);
    const standIn = await startStandIn({
      port,
      host: values.host,
      sdkKeys: values['sdk-key'] ?? [STANDIN_DEFAULT_SDK_KEY],
    });
    process.stderr.write(
      `FlagSync stand-in listening on ${standIn.url} (accepted SDK keys: ` +
        `${values['sdk-key'] ? `${values['sdk-key'].length} given` : STANDIN_DEFAULT_SDK_KEY})\n`,
    );
    process.stdout.write(`${standIn.url}\n`);
    await untilSignal();
    process.stderr.write(
      `received ${standIn.impressions().length} impressions and ${standIn.events().length} events; ` +
        `${standIn.rejections.length} requests rejected\n`,
    );
    await standIn.close();
    return 0;
  },
};
