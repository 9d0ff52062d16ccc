/**
 * Writes one evaluation or track call as exactly one OpenTelemetry event: a span event on the
 * active recording span, or a log-based event (Logs API `eventName`) that keeps trace correlation.
 */
import { context, diag, logs, trace, type Attributes, type Logger, type Span } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from '../conventions.js';
import type { EventSignal, FlagSyncInstrumentationOptions, NoRecordingSpanBehavior } from '../types.js';
import { PACKAGE_VERSION } from '../version.js';

const DEFAULT_SPAN_EVENT_COUNT_LIMIT = 128;

export interface RecorderStats {
  spanEvents: number;
  logEvents: number;
  /** Calls recorded nowhere: no recording span with `noRecordingSpan: 'drop'`, or no LoggerProvider. */
  dropped: number;
}

export class EventRecorder {
  readonly stats: RecorderStats = { spanEvents: 0, logEvents: 0, dropped: 0 };
  private readonly _diag = diag.createComponentLogger({ namespace: 'flagsync-otel/instrumentation' });
  private readonly _noRecordingSpan: NoRecordingSpanBehavior;
  private readonly _eventLimit: number;
  private _logger: Logger | undefined;
  private _warnedDrop = false;

  constructor(options: FlagSyncInstrumentationOptions) {
    this._noRecordingSpan = options.noRecordingSpan ?? 'log';
    this._eventLimit = options.spanEventCountLimit ?? envSpanEventCountLimit() ?? DEFAULT_SPAN_EVENT_COUNT_LIMIT;
  }

  record(name: string, attributes: Attributes, timeMs: number, signal: EventSignal): void {
    if (signal === 'span') {
      const span = trace.getActiveSpan();
      if (span && span.isRecording() && hasEventRoom(span, this._eventLimit)) {
        span.addEvent(name, attributes, timeMs);
        this.stats.spanEvents++;
        return;
      }
      if (this._noRecordingSpan === 'drop') return this._drop(name, 'no recording span and noRecordingSpan is "drop"');
    }
    this._emitLog(name, attributes, timeMs);
  }

  private _emitLog(name: string, attributes: Attributes, timeMs: number): void {
    const logger = (this._logger ??= logs.getLogger(INSTRUMENTATION_SCOPE, PACKAGE_VERSION));
    // A Logs API without a registered LoggerProvider is a silent no-op: count that as a drop.
    if (!logger.enabled({ eventName: name })) {
      return this._drop(name, 'no LoggerProvider is registered (logs.setGlobalLoggerProvider) or it does not accept these events');
    }
    logger.emit({ eventName: name, timestamp: timeMs, attributes, context: context.active() });
    this.stats.logEvents++;
  }

  private _drop(name: string, why: string): void {
    this.stats.dropped++;
    if (!this._warnedDrop) {
      this._warnedDrop = true;
      this._diag.warn(`${name} not recorded: ${why}. Further drops are counted in stats.dropped without logging.`);
    }
  }
}

/** Span events past the provider's limit evict the oldest; keep ours out of a full span. */
function hasEventRoom(span: Span, limit: number): boolean {
  const events = (span as { events?: unknown }).events;
  return !Array.isArray(events) || events.length < limit;
}

function envSpanEventCountLimit(): number | undefined {
  const raw = typeof process !== 'undefined' ? process.env?.OTEL_SPAN_EVENT_COUNT_LIMIT : undefined;
  if (!raw) return undefined;
  const parsed = Number(raw);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}
