/**
 * Logs a repeating problem once, then at most once per interval with the count since: through diag,
 * and on stderr when the app registered no diag logger (notice.ts).
 */
import type { DiagLogger } from '@opentelemetry/api';
import { noticeWithoutDiag } from '../otel/notice.js';

export class ThrottledLog {
  private readonly _last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly _diag: DiagLogger,
    private readonly _intervalMillis = 60_000,
  ) {}

  log(level: 'error' | 'warn', key: string, message: string): void {
    const now = Date.now();
    const entry = this._last.get(key);
    if (entry && now - entry.at < this._intervalMillis) {
      entry.suppressed++;
      return;
    }
    const suffix = entry && entry.suppressed > 0 ? ` (${entry.suppressed} more like this since the last report)` : '';
    this._last.set(key, { at: now, suppressed: 0 });
    this._diag[level](message + suffix);
    noticeWithoutDiag(level, message + suffix);
  }
}
