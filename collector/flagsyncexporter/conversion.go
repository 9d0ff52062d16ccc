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
	// scope is the store scope hashed into item keys (item_keys.go).
	scope []byte
	// derived applies the derived-event rules; nil without rules.
	derived   *deriver
	telemetry *metadata.TelemetryBuilder
	reports   *reports
}

func newConversion(cfg *Config, derived *deriver, telemetry *metadata.TelemetryBuilder, r *reports) *conversion {
	c := &conversion{maxBatchSize: cfg.MaxBatchSize, maxBatchBytes: cfg.MaxBatchBytes, scope: storeScope(cfg), derived: derived, telemetry: telemetry, reports: r}
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
				b.add(o, spanEventSource(span, i), uint64(event.Timestamp()))
			} else {
				c.notConverted(ctx, o)
			}
			c.noteContext(span.TraceID(), b, o)
		}
	})
	if c.derived != nil {
		// After every evaluation of the request is known: a server span may come before its handler's.
		forEachSpan(td, func(span ptrace.Span, scope string) {
			b.spans = append(b.spans, c.derived.derive(span, scope)...)
		})
	}
	if err := c.applyDerived(ctx, b); err != nil {
		return nil, err
	}
	return b.request(), nil
}

// noteContext notes that a flag was evaluated for this evaluation's context (an impression's, or
// one delivered elsewhere), for the trace memory.
func (c *conversion) noteContext(traceID pcommon.TraceID, b *builder, o outcome) {
	if c.derived == nil || o.context == nil || traceID.IsEmpty() {
		return
	}
	// One call's several evaluations come in a row: note their context once.
	if traceID == b.lastTrace && bytes.Equal(o.context, b.lastContext) {
		return
	}
	b.lastTrace, b.lastContext = traceID, o.context
	b.notes = append(b.notes, traceNote{traceID: traceID, key: contextKey(o.context), text: o.context})
}

// applyDerived gives the request's notes and matching spans to the trace memory: the events it
// makes (of this request's spans, and of earlier ones that waited) join the request. A trace
// memory that fails (the shared store unreachable) fails the request, which is sent again.
func (c *conversion) applyDerived(ctx context.Context, b *builder) error {
	if c.derived == nil || (len(b.notes) == 0 && len(b.spans) == 0) {
		return nil
	}
	events, err := c.derived.traces.apply(ctx, b.notes, b.spans)
	if err != nil {
		c.reports.once("store:traces", func() {
			c.reports.logger.Error("flagsync exporter: the trace memory failed; requests are refused (the sender keeps and retries them) until it is back", zap.Error(err))
		})
		return err
	}
	for _, d := range events {
		b.events.add(d.json, d.source, d.at)
	}
	if len(events) > 0 {
		c.telemetry.ExporterFlagsyncDerived.Add(ctx, int64(len(events)))
	}
	return nil
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
		at := logRecordTime(lr)
		o := conv.convert(lr.EventName(), at, a)
		if o.kind == outcomeImpression || o.kind == outcomeEvent {
			b.add(o, logRecordSource(lr, a), at)
		} else {
			c.notConverted(ctx, o)
		}
		c.noteContext(lr.TraceID(), b, o)
	})
	if err := c.applyDerived(ctx, b); err != nil {
		return nil, err
	}
	return b.request(), nil
}

// builder sorts converted items onto their routes' chunks.
type builder struct {
	impressions, events chunker
	// The context last noted for derived events, and its trace.
	lastTrace   pcommon.TraceID
	lastContext []byte
	// What the request tells the trace memory: contexts evaluated, spans matching a rule.
	notes []traceNote
	spans []traceSpan
}

func (c *conversion) newBuilder() *builder {
	return &builder{
		impressions: chunker{route: routeImpressions, scope: c.scope, maxItems: c.maxBatchSize, maxBytes: c.maxBatchBytes},
		events:      chunker{route: routeEvents, scope: c.scope, maxItems: c.maxBatchSize, maxBytes: c.maxBatchBytes},
	}
}

func (b *builder) add(o outcome, source []byte, at uint64) {
	if o.kind == outcomeImpression {
		b.impressions.add(o.json, source, at)
	} else {
		b.events.add(o.json, source, at)
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
