/**
 * A SpanExporter that turns `feature_flag.evaluation` and `flagsync.track` span events into FlagSync
 * impressions and events, and with `derivedEvents` rules, matching spans into events of the users
 * whose flags were evaluated in the same trace. Add it beside your usual exporter, in its own
 * BatchSpanProcessor.
 */
import type { ConversionOutcome } from '../convert/converter.js';
import { convertSpans, type SpanEventLike, type SpanLike } from '../convert/sources.js';
import { claimFor, spanHolder } from '../instrumentation/handover.js';
import { FlagSyncExporterBase, isHandedToExporter, type FlagSyncExporterOptions } from './exporter-base.js';

export class FlagSyncSpanExporter extends FlagSyncExporterBase<SpanLike> {
  constructor(options: FlagSyncExporterOptions = {}) {
    super(options, 'span-exporter', 'traces');
  }

  /** A span event's call is found by its span and its attributes object, as the span stores them. */
  private readonly _onEvent = (outcome: ConversionOutcome, span: SpanLike, event: SpanEventLike): void => {
    const attributes = event.attributes;
    const handed = isHandedToExporter(attributes) && span.spanContext;
    this._handle(outcome, attributes, handed ? claimFor(spanHolder(span as never), attributes) : undefined);
  };

  protected _convert(spans: readonly SpanLike[]): void {
    convertSpans(this._converter, spans, this._onEvent, this._derived, this._handleDerived);
    for (const span of spans) {
      if (span.droppedEventsCount) {
        this._log.log(
          'warn',
          'dropped-events',
          `a span dropped ${span.droppedEventsCount} events at its event limit; FlagSync events among them are ` +
            `lost. Raise OTEL_SPAN_EVENT_COUNT_LIMIT or use the log signal.`,
        );
      }
    }
  }
}
