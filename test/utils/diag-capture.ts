/** Captures everything written through the OTel diag logger, to assert on messages and secrets. */
import { diag, DiagLogLevel } from '@opentelemetry/api';

export interface CapturedDiag {
  lines: { level: string; text: string }[];
  text(): string;
  restore(): void;
}

export function captureDiag(level = DiagLogLevel.DEBUG): CapturedDiag {
  const lines: { level: string; text: string }[] = [];
  const sink =
    (name: string) =>
    (...args: unknown[]) =>
      lines.push({
        level: name,
        text: args
          .map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a)))
          .join(' '),
      });
  diag.setLogger(
    { error: sink('error'), warn: sink('warn'), info: sink('info'), debug: sink('debug'), verbose: sink('verbose') },
    { logLevel: level, suppressOverrideMessage: true },
  );
  return { lines, text: () => lines.map((l) => `${l.level}: ${l.text}`).join('\n'), restore: () => diag.disable() };
}
