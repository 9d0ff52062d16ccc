/** flagsync-otel CLI: one file per command; logs go to stderr, results to stdout. */
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { standInCommand } from './commands/standin.js';
import { FlagSyncConfigError } from '../config/delivery-config.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import type { Command } from './command.js';

const COMMANDS: Command[] = [demoCommand, doctorCommand, standInCommand];

/** Exit code for a command line this CLI does not understand. */
const USAGE_ERROR = 2;

function usage(): string {
  const rows: [string, string][] = [
    ...COMMANDS.map((c): [string, string] => [c.name, c.summary]),
    ['help', 'show this help (also --help, -h)'],
  ];
  return [
    `Usage: ${PACKAGE_NAME} <command> [options]`,
    '',
    'Commands:',
    ...rows.map(([name, summary]) => `  ${name.padEnd(10)} ${summary}`),
    '',
    'Options:',
    `  --version, -v  print the version of ${PACKAGE_NAME}`,
    '',
    `Run \`${PACKAGE_NAME} <command> --help\` for its options.`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    // `help <command>`: that command's own help.
    const command = COMMANDS.find((c) => c.name === rest[0]);
    if (command) return command.run(['--help']);
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  if (!name) {
    process.stderr.write(`${PACKAGE_NAME}: no command given\n\n${usage()}\n`);
    return USAGE_ERROR;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${PACKAGE_NAME}: unknown command "${name}"\n\n${usage()}\n`);
    return USAGE_ERROR;
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
    process.stderr.write(`${PACKAGE_NAME}: ${message}\n`);
    process.exitCode = 1;
  },
);
