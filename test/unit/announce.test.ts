/**
 * At the first call, one info line (through diag) says where this process's FlagSync calls go;
 * problems, unlike this line, also reach stderr when the app has no diag logger.
 */
import { DiagLogLevel } from '@opentelemetry/api';
import { afterEach, expect, it, vi } from 'vitest';
import { createClientInstrumenter } from '../../src/instrumentation/wrap-client.js';
import { captureDiag } from '../utils/diag-capture.js';
import { setupOtel, type TestOtel } from '../utils/otel.js';

let otel: TestOtel | undefined;
afterEach(async () => {
  await otel?.shutdown();
  vi.restoreAllMocks();
});

it('says once, at the first call, where the calls go', () => {
  otel = setupOtel();
  const stderr = vi.spyOn(console, 'warn');
  const diag = captureDiag(DiagLogLevel.INFO);
  try {
    const stub = { flag: (_context: unknown, _key: string) => 1, track: () => 0 };
    const client = createClientInstrumenter({ delivery: 'sdk' }, () => true).wrap(stub);
    client.flag({ key: 'u' }, 'f');
    client.flag({ key: 'u' }, 'g');
    const lines = diag.lines.filter((l) => l.text.includes('FlagSync calls from this process go to'));
    expect(lines).toEqual([
      {
        level: 'info',
        text:
          'flagsync-otel/instrumentation FlagSync calls from this process go to the FlagSync SDK (the OpenTelemetry ' +
          'events are telemetry) (delivery: sdk)',
      },
    ]);
    // The app has a diag logger: nothing on stderr.
    expect(stderr).not.toHaveBeenCalled();
  } finally {
    diag.restore();
  }
});
