/** A diag logger writing one JSON object per line to stderr: structured, and never given secrets. */
import { DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

export function jsonStderrLogger(): DiagLogger {
  const write =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      // Component loggers pass their namespace first.
      const [component, text, rest] =
        args.length > 0 && typeof args[0] === 'string'
          ? [message, args[0] as string, args.slice(1)]
          : [undefined, message, args];
      const extra = rest.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a)));
      const line = {
        time: new Date().toISOString(),
        level,
        ...(component ? { component } : {}),
        msg: text,
        ...(extra.length ? { details: extra } : {}),
      };
      process.stderr.write(`${JSON.stringify(line)}\n`);
    };
  return {
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    verbose: write('verbose'),
  };
}

/** OTEL_LOG_LEVEL as OpenTelemetry JS reads it; default info. */
export function logLevelFromEnv(value: string | undefined): DiagLogLevel {
  const level = (value ?? 'info').toUpperCase() as keyof typeof DiagLogLevel;
  return DiagLogLevel[level] ?? DiagLogLevel.INFO;
}
