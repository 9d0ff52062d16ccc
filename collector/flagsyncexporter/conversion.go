// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"sync"

	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// conversion turns the span events and log records of a request into FlagSync items as they
// enter the exporter, before the queue (request.go: the queue holds FlagSync's items), with the
// events derived from its spans; it counts what it does not convert.
type conversion struct {
	converters                  sync.Pool
	maxBatchSize, maxBatchBytes int
	// derived applies the derived-event rules; nil without rules.
	derived   *deriver
	telemetry *metadata.TelemetryBuilder
	reports   *reports
}

func newConversion(cfg *Config, derived *deriver, telemetry *metadata.TelemetryBuilder, r *reports) *conversion {
	c := &conversion{maxBatchSize: cfg.MaxBatchSize, maxBatchBytes: cfg.MaxBatchBytes, derived: derived, telemetry: telemetry, reports: r}
	c.converters.New = func() any { return newConverter(cfg.ProviderNames) }
	return c
}

// convertTraces turns a request's FlagSync span events into FlagSync items, before the queue.
func (c *conversion) convertTraces(ctx context.Context, td ptrace.Traces) (xexporterhelper.Request, error) {
	conv := c.converters.Get().(*converter)
	defer c.converters.Put(conv)
	b := c.newBuilder()
	forEachSpan(td, func(span ptrace.Span, _ string) {
		spanEvents := span.Events()
		for i := 0; i < spanEvents.Len(); i++ {
			event := spanEvents.At(i)
			if !isCandidate(event.Name()) {
				continue
			}
			o := conv.convert(event.Name(), uint64(event.Timestamp()), spanEventAttributes(event.Attributes()))
			if o.kind == outcomeImpression || o.kind == outcomeEvent {
				b.add(o, spanEventSource(span, i))
			} else {
				c.notConverted(ctx, o)
			}
			c.noteContext(ctx, b, span.TraceID(), o)
		}
	})
	if c.derived != nil {
		// After every evaluation of the request is known: a server span may come before its handler's.
		forEachSpan(td, func(span ptrace.Span, scope string) {
			c.addDerived(ctx, b, c.derived.derive(ctx, span, scope))
		})
	}
	return b.request(), nil
}

// noteContext tells the trace memory a flag was evaluated for this evaluation's context (an
// impression's, or one delivered elsewhere); spans that were waiting for one become events of
// this request.
func (c *conversion) noteContext(ctx context.Context, b *builder, traceID pcommon.TraceID, o outcome) {
	if c.derived == nil || o.context == nil {
		return
	}
	// One call's several evaluations come in a row: note their context once.
	if traceID == b.lastTrace && bytes.Equal(o.context, b.lastContext) {
		return
	}
	b.lastTrace, b.lastContext = traceID, o.context
	c.addDerived(ctx, b, c.derived.traces.note(ctx, traceID, contextKey(o.context), o.context))
}

func (c *conversion) addDerived(ctx context.Context, b *builder, events []derivedEvent) {
	for _, d := range events {
		b.events.add(d.json, d.source)
	}
	if len(events) > 0 {
		c.telemetry.ExporterFlagsyncDerived.Add(ctx, int64(len(events)))
	}
}

// convertLogs turns a request's FlagSync log-based events into FlagSync items, before the queue.
func (c *conversion) convertLogs(ctx context.Context, ld plog.Logs) (xexporterhelper.Request, error) {
	conv := c.converters.Get().(*converter)
	defer c.converters.Put(conv)
	b := c.newBuilder()
	forEachLogRecord(ld, func(lr plog.LogRecord) {
		if !isCandidate(lr.EventName()) {
			return
		}
		a := logRecordAttributes(lr.Attributes(), lr.Body())
		o := conv.convert(lr.EventName(), logRecordTime(lr), a)
		if o.kind == outcomeImpression || o.kind == outcomeEvent {
			b.add(o, logRecordSource(lr, a))
		} else {
			c.notConverted(ctx, o)
		}
		c.noteContext(ctx, b, lr.TraceID(), o)
	})
	return b.request(), nil
}

// builder sorts converted items onto their routes' chunks.
type builder struct {
	impressions, events chunker
	// The context last noted for derived events, and its trace.
	lastTrace   pcommon.TraceID
	lastContext []byte
}

func (c *conversion) newBuilder() *builder {
	return &builder{
		impressions: chunker{route: routeImpressions, maxItems: c.maxBatchSize, maxBytes: c.maxBatchBytes},
		events:      chunker{route: routeEvents, maxItems: c.maxBatchSize, maxBytes: c.maxBatchBytes},
	}
}

func (b *builder) add(o outcome, source []byte) {
	if o.kind == outcomeImpression {
		b.impressions.add(o.json, source)
	} else {
		b.events.add(o.json, source)
	}
}

func (b *builder) request() *flagsyncRequest {
	b.impressions.flush()
	b.events.flush()
	return &flagsyncRequest{chunks: append(b.impressions.chunks, b.events.chunks...)}
}

// notConverted counts (and reports once) a FlagSync event that is not delivered.
func (c *conversion) notConverted(ctx context.Context, o outcome) {
	switch o.kind {
	case outcomeRejected:
		c.telemetry.ExporterFlagsyncRejected.Add(ctx, 1)
		c.reports.once("rejected:"+o.reason, func() {
			c.reports.logger.Warn("flagsync exporter: a FlagSync event could not be converted and is dropped; further ones are counted in otelcol_exporter_flagsync_rejected", zap.String("reason", o.reason))
		})
	case outcomeElsewhere:
		c.telemetry.ExporterFlagsyncElsewhere.Add(ctx, 1)
	case outcomeDamaged:
		c.telemetry.ExporterFlagsyncDamaged.Add(ctx, 1)
		c.reports.once("damaged", func() {
			c.reports.logger.Warn("flagsync exporter: a FlagSync event arrived cut by attribute limits and is ignored (the instrumentation leaves such calls to the FlagSync SDK where it can tell); raise the app's attribute value length limit or use the log signal")
		})
	}
}
