/**
 * A FlagSync SDK required before FlagSyncInstrumentation is enabled is said, once, without any diag logger
 * (issue 21: "FlagSync SDK module loaded before the instrumentation ... no word even at debug"). The built package,
 * each case in its own Node process; the instrumentation's delivery guard is left out (nothing is sent).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../utils/processes.js';

const SETUP = `
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { FlagSyncInstrumentation } = require(${JSON.stringify(join(ROOT, 'dist/instrumentation.cjs'))});
registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation({ guardSdkDelivery: false })] });
`;
const LOAD_SDK = "require('@flagsync/node-sdk');";

function node(script: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['-e', script],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => (error ? reject(error) : resolve({ stdout, stderr })),
    ),
  );
}

const WARNING =
  'flagsync-otel: @flagsync/node-sdk was loaded before FlagSyncInstrumentation was enabled: clients made from the ' +
  'FlagSyncFactory imported then are not instrumented (their calls stay with the SDK). Start the OpenTelemetry ' +
  'setup first (node --require ./telemetry.cjs app.js, or --import for ES modules), before anything imports the SDK\n';

describe('FlagSync SDK loaded before the instrumentation', () => {
  it('says so once on stderr, with no diag logger registered', async () => {
    expect(await node(`${LOAD_SDK}\n${SETUP}`)).toEqual({ stdout: '', stderr: WARNING });
  });

  it('says nothing when the instrumentation comes first, or with FLAGSYNC_QUIET=true', async () => {
    expect(await node(`${SETUP}\n${LOAD_SDK}`)).toEqual({ stdout: '', stderr: '' });
    // With the delivery guard, which loads the SDKs itself, and enabled again later: still nothing.
    const guarded = `${SETUP.replace('{ guardSdkDelivery: false }', '')}
setTimeout(() => { ${LOAD_SDK} registerInstrumentations({ instrumentations: [new FlagSyncInstrumentation()] }); }, 300);`;
    expect(await node(guarded)).toEqual({ stdout: '', stderr: '' });
    expect(await node(`${LOAD_SDK}\n${SETUP}`, { FLAGSYNC_QUIET: 'true' })).toEqual({ stdout: '', stderr: '' });
  });

  it('goes through the diag logger instead when the app registered one', async () => {
    const withDiag = `const api = require('@opentelemetry/api');
api.diag.setLogger({ warn: (...a) => console.log('diag warn: ' + a.join(' ')), error() {}, info() {}, debug() {}, verbose() {} });
${LOAD_SDK}\n${SETUP}`;
    const { stdout, stderr } = await node(withDiag);
    expect(stderr).toBe('');
    // Ours, besides OpenTelemetry's own preloaded-module warning (component logger: namespace first).
    expect(stdout.split('\n').filter((l) => l.includes('was loaded before FlagSyncInstrumentation'))).toEqual([
      `diag warn: ${WARNING.trimEnd()}`,
    ]);
  });
});
