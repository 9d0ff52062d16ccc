/** flagsync-otel CLI: one file per command; logs go to stderr, results to stdout. */
import { demoCommand } from './commands/demo.js';
import { serveCommand } from './commands/serve.js';
import { standInCommand } from './commands/standin.js';
import { FlagSyncConfigError } from '../config/delivery-config.js';
import type { Command } from './command.js';

const COMMANDS: Command[] = [demoCommand, serveCommand, standInCommand];

function usage(): string {
  return [
    'Usage: flagsync-otel <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Run `flagsync-otel <command> --help` for its options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 1;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`flagsync-otel: unknown command "${name}"\n\n${usage()}\n`);
    return 1;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof FlagSyncConfigError ? error.cliMessage : error instanceof Error ? error.message : String(error);
    process.stderr.write(`flagsync-otel: ${message}\n`);
    process.exitCode = 1;
  },
);
