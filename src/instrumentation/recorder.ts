/**
 * Writes one evaluation or track call as exactly one OpenTelemetry event: a span event on the
 * active recording span, or a log-based event (Logs API `eventName`) that keeps trace correlation.
 */
import { context, diag, logs, trace, type Attributes, type Logger, type Span } from '@opentelemetry/api';
import { ATTR_FLAGSYNC_CALL_ID, INSTRUMENTATION_SCOPE } from '../conventions.js';
import type { EventSignal, FlagSyncInstrumentationOptions, NoRecordingSpanBehavior } from '../types.js';
import { PACKAGE_VERSION } from '../version.js';

const DEFAULT_SPAN_EVENT_COUNT_LIMIT = 128;

export type RecordTarget = Span | Logger;

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
  private readonly _nonce = Math.floor(Math.random() * 0x100000000).toString(36);
  private _sequence = 0;

  constructor(options: FlagSyncInstrumentationOptions) {
    this._noRecordingSpan = options.noRecordingSpan ?? 'log';
    this._eventLimit = options.spanEventCountLimit ?? envSpanEventCountLimit() ?? DEFAULT_SPAN_EVENT_COUNT_LIMIT;
  }

  /**
   * Where a call goes: the active recording span, the Logs API, or nowhere (counted as dropped).
   * Decided before anything is built, so a dropped call costs next to nothing.
   */
  target(name: string, signal: EventSignal): RecordTarget | undefined {
    if (signal === 'span') {
      const span = trace.getActiveSpan();
      if (span && span.isRecording() && hasEventRoom(span, this._eventLimit)) return span;
      if (this._noRecordingSpan === 'drop') return this._drop(name, 'no recording span and noRecordingSpan is "drop"');
    }
    const logger = (this._logger ??= logs.getLogger(INSTRUMENTATION_SCOPE, PACKAGE_VERSION));
    // A Logs API without a registered LoggerProvider is a silent no-op: count that as a drop.
    if (!logger.enabled({ eventName: name })) {
      return this._drop(name, 'no LoggerProvider is registered (logs.setGlobalLoggerProvider) or it does not accept these events');
    }
    return logger;
  }

  emit(target: RecordTarget, name: string, attributes: Attributes, timeMs: number): void {
    if (target === this._logger) {
      attributes[ATTR_FLAGSYNC_CALL_ID] = `${this._nonce}.${++this._sequence}`;
      (target as Logger).emit({ eventName: name, timestamp: timeMs, attributes, context: context.active() });
      this.stats.logEvents++;
    } else {
      (target as Span).addEvent(name, attributes, timeMs);
      this.stats.spanEvents++;
    }
  }

  private _drop(name: string, why: string): undefined {
    this.stats.dropped++;
    if (!this._warnedDrop) {
      this._warnedDrop = true;
      this._diag.warn(`${name} not recorded: ${why}. Further drops are counted in stats.dropped without logging.`);
    }
    return undefined;
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
