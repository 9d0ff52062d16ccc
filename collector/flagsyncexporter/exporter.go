// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// flagsyncExporter converts span events and log records to FlagSync impressions and events as
// they enter the exporter (request.go: the queue holds FlagSync's items) and posts them to
// FlagSync's server track routes. The queue, its persistence and the retries are exporterhelper's;
// a push that fails part-way leaves only the undelivered chunks for the retry.
type flagsyncExporter struct {
	cfg        *Config
	set        exporter.Settings
	logger     *zap.Logger
	client     *flagsyncClient
	progress   progressStore
	converters sync.Pool
	telemetry  telemetry
	logOnce    sync.Map
	stopSweep  chan struct{}
	// signal names this exporter's delivery record: the traces and logs exporters of one
	// component each have their own, as they have their own queue.
	signal pipeline.Signal
	// derived applies the derived-event rules; nil without rules.
	derived *deriver
}

type telemetry struct {
	delivered, refused, unconfirmed, duplicates, rejected, damaged, derived, elsewhere metric.Int64Counter
}

func newExporter(cfg *Config, set exporter.Settings, signal pipeline.Signal) *flagsyncExporter {
	e := &flagsyncExporter{cfg: cfg, set: set, logger: set.Logger, stopSweep: make(chan struct{}), signal: signal}
	e.converters.New = func() any { return newConverter(cfg.ProviderNames) }
	// Validate has checked the rules. The traces and logs exporters of one component share the
	// trace memory, so evaluations recorded as logs count for spans.
	if rules, _ := compileRules(cfg.DerivedEvents); len(rules) > 0 {
		e.derived = &deriver{rules: rules, traces: sharedTraceContexts(set.ID, cfg)}
	}
	meter := set.MeterProvider.Meter("github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter")
	counter := func(name, description string) metric.Int64Counter {
		c, _ := meter.Int64Counter(name, metric.WithDescription(description), metric.WithUnit("{item}"))
		return c
	}
	e.telemetry = telemetry{
		delivered:   counter("otelcol_exporter_flagsync_delivered", "Impressions and events FlagSync accepted."),
		refused:     counter("otelcol_exporter_flagsync_refused", "Items FlagSync refused as invalid (a 4xx other than a configuration problem): dropped."),
		unconfirmed: counter("otelcol_exporter_flagsync_unconfirmed", "Items sent again after an attempt that got no answer once it may have reached FlagSync (timeout, connection lost, 504, a restart mid-request): at most this many may count twice."),
		duplicates:  counter("otelcol_exporter_flagsync_duplicates_skipped", "Items not sent again because FlagSync had accepted them (a request retried or replayed after a restart)."),
		rejected:    counter("otelcol_exporter_flagsync_rejected", "FlagSync events that could not be converted: dropped."),
		damaged:     counter("otelcol_exporter_flagsync_damaged", "FlagSync events cut by attribute limits on the way: ignored, never delivered truncated."),
		derived:     counter("otelcol_exporter_flagsync_derived", "Events derived from spans by the derived_events rules."),
		elsewhere:   counter("otelcol_exporter_flagsync_elsewhere", "FlagSync events another deliverer has (flagsync.delivery sdk or exporter): not delivered by the collector."),
	}
	return e
}

func (e *flagsyncExporter) start(ctx context.Context, host component.Host) error {
	httpClient, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	// A redirect means a wrong endpoint: it is reported, never followed with the key.
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = &flagsyncClient{
		http:          httpClient,
		baseURL:       strings.TrimRight(e.cfg.ClientConfig.Endpoint, "/"),
		sdkKey:        string(e.cfg.SDKKey),
		maxRetryAfter: e.cfg.MaxRetryAfter,
	}
	e.progress = newMemoryProgress(e.cfg.DeliveryMemory)
	if queue := e.cfg.QueueConfig.Get(); e.cfg.QueueConfig.HasValue() && queue.StorageID != nil {
		client, err := storageClient(ctx, host, *queue.StorageID, e.set.ID, "delivery_"+e.signal.String())
		if err != nil {
			return err
		}
		e.progress = &storageProgress{client: client, ttl: e.cfg.DeliveryMemory, logger: e.logger}
	}
	e.progress.sweep(ctx)
	go e.sweepPeriodically()
	return nil
}

func storageClient(ctx context.Context, host component.Host, id, owner component.ID, name string) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage extension %q not found", id)
	}
	storageExt, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a storage extension", id)
	}
	return storageExt.GetClient(ctx, component.KindExporter, owner, name)
}

func (e *flagsyncExporter) sweepPeriodically() {
	ticker := time.NewTicker(10 * time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-e.stopSweep:
			return
		case <-ticker.C:
			e.progress.sweep(context.Background())
		}
	}
}

func (e *flagsyncExporter) shutdown(ctx context.Context) error {
	if e.progress == nil {
		return nil
	}
	close(e.stopSweep)
	return e.progress.close(ctx)
}

// convertTraces turns a request's FlagSync span events into FlagSync items, before the queue.
func (e *flagsyncExporter) convertTraces(ctx context.Context, td ptrace.Traces) (xexporterhelper.Request, error) {
	c := e.converters.Get().(*converter)
	defer e.converters.Put(c)
	b := e.newBuilder()
	forEachSpan(td, func(span ptrace.Span, _ string) {
		spanEvents := span.Events()
		for i := 0; i < spanEvents.Len(); i++ {
			event := spanEvents.At(i)
			if !isCandidate(event.Name()) {
				continue
			}
			o := c.convert(event.Name(), uint64(event.Timestamp()), spanEventAttributes(event.Attributes()))
			if o.kind == outcomeImpression || o.kind == outcomeEvent {
				b.add(o, spanEventSource(span, i))
			} else {
				e.notConverted(ctx, o)
			}
			e.noteContext(ctx, b, span.TraceID(), o)
		}
	})
	if e.derived != nil {
		// After every evaluation of the request is known: a server span may come before its handler's.
		forEachSpan(td, func(span ptrace.Span, scope string) {
			e.addDerived(ctx, b, e.derived.derive(span, scope))
		})
	}
	return b.request(), nil
}

// noteContext tells the trace memory a flag was evaluated for this evaluation's context (an
// impression's, or one delivered elsewhere); spans that were waiting for one become events of
// this request.
func (e *flagsyncExporter) noteContext(ctx context.Context, b *builder, traceID pcommon.TraceID, o outcome) {
	if e.derived == nil || o.context == nil {
		return
	}
	// One call's several evaluations come in a row: note their context once.
	if traceID == b.lastTrace && bytes.Equal(o.context, b.lastContext) {
		return
	}
	b.lastTrace, b.lastContext = traceID, o.context
	e.addDerived(ctx, b, e.derived.traces.note(traceID, contextKey(o.context), o.context))
}

func (e *flagsyncExporter) addDerived(ctx context.Context, b *builder, events []derivedEvent) {
	for _, d := range events {
		b.events.add(d.json, d.source)
	}
	if len(events) > 0 {
		e.telemetry.derived.Add(ctx, int64(len(events)))
	}
}

// convertLogs turns a request's FlagSync log-based events into FlagSync items, before the queue.
func (e *flagsyncExporter) convertLogs(ctx context.Context, ld plog.Logs) (xexporterhelper.Request, error) {
	c := e.converters.Get().(*converter)
	defer e.converters.Put(c)
	b := e.newBuilder()
	forEachLogRecord(ld, func(lr plog.LogRecord) {
		if !isCandidate(lr.EventName()) {
			return
		}
		a := logRecordAttributes(lr.Attributes(), lr.Body())
		o := c.convert(lr.EventName(), logRecordTime(lr), a)
		if o.kind == outcomeImpression || o.kind == outcomeEvent {
			b.add(o, logRecordSource(lr, a))
		} else {
			e.notConverted(ctx, o)
		}
		e.noteContext(ctx, b, lr.TraceID(), o)
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

func (e *flagsyncExporter) newBuilder() *builder {
	return &builder{
		impressions: chunker{route: routeImpressions, maxItems: e.cfg.MaxBatchSize, maxBytes: e.cfg.MaxBatchBytes},
		events:      chunker{route: routeEvents, maxItems: e.cfg.MaxBatchSize, maxBytes: e.cfg.MaxBatchBytes},
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
func (e *flagsyncExporter) notConverted(ctx context.Context, o outcome) {
	switch o.kind {
	case outcomeRejected:
		e.telemetry.rejected.Add(ctx, 1)
		e.once("rejected:"+o.reason, func() {
			e.logger.Warn("flagsync exporter: a FlagSync event could not be converted and is dropped; further ones are counted in otelcol_exporter_flagsync_rejected", zap.String("reason", o.reason))
		})
	case outcomeElsewhere:
		e.telemetry.elsewhere.Add(ctx, 1)
	case outcomeDamaged:
		e.telemetry.damaged.Add(ctx, 1)
		e.once("damaged", func() {
			e.logger.Warn("flagsync exporter: a FlagSync event arrived cut by attribute limits and is ignored (the instrumentation leaves such calls to the FlagSync SDK where it can tell); raise the app's attribute value length limit or use the log signal")
		})
	}
}

// push posts a request's chunks in order. It returns nil when every item was delivered (or
// dropped as refused); else an error carrying the chunks left, which exporterhelper retries.
func (e *flagsyncExporter) push(ctx context.Context, req xexporterhelper.Request) error {
	chunks := req.(*flagsyncRequest).chunks
	keys := make([]string, 0, len(chunks))
	for _, c := range chunks {
		if c.key != "" {
			keys = append(keys, c.key)
		}
	}
	known := map[string]batchState{}
	for i, state := range e.progress.states(ctx, keys) {
		if state != 0 {
			known[keys[i]] = state
		}
	}
	// A delivered chunk is recorded together with the next chunk's sent marker: one write each.
	delivered := ""
	for len(chunks) > 0 {
		c := chunks[0]
		result := e.send(ctx, c, known[c.key], &delivered)
		switch result.kind {
		case resultDelivered:
		case resultTooLarge:
			if len(c.items) > 1 {
				half := len(c.items) / 2
				chunks = append([]chunk{c.withItems(c.items[:half], "/1"), c.withItems(c.items[half:], "/2")}, chunks[1:]...)
				continue
			}
			e.refused(ctx, c.route, 1, result)
		case resultInvalid:
			e.refused(ctx, c.route, len(c.items), result)
		default:
			// This chunk and the rest are retried; what was delivered is not sent again.
			e.progress.mark(ctx, delivered, "")
			return &undeliveredError{err: e.retryError(result), rest: &flagsyncRequest{chunks: chunks}}
		}
		chunks = chunks[1:]
	}
	// The whole request arrived: its markers are no longer needed (it will not be sent again).
	e.progress.remove(ctx, keys)
	return nil
}

// send posts one chunk, unless FlagSync already has it (state, read before); the sent marker is
// written first, with the previous chunk's delivered one (*delivered), which it then replaces.
func (e *flagsyncExporter) send(ctx context.Context, c chunk, state batchState, delivered *string) postResult {
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("route", string(c.route))))
	switch state {
	case stateDelivered:
		e.telemetry.duplicates.Add(ctx, int64(len(c.items)), attrs)
		return postResult{kind: resultDelivered}
	case stateSent:
		// Sent before without an answer: FlagSync may have it already.
		e.telemetry.unconfirmed.Add(ctx, int64(len(c.items)), attrs)
	}
	if c.key != "" || *delivered != "" {
		e.progress.mark(ctx, *delivered, c.key)
		*delivered = ""
	}
	result := e.client.post(ctx, c.route, requestBody(c.route, c.items))
	switch {
	case result.kind == resultDelivered:
		e.telemetry.delivered.Add(ctx, int64(len(c.items)), attrs)
		*delivered = c.key
	case c.key != "" && !result.unconfirmed:
		// FlagSync answered: it did not store the chunk.
		e.progress.remove(ctx, []string{c.key})
	}
	return result
}

func (e *flagsyncExporter) refused(ctx context.Context, r route, n int, result postResult) {
	e.telemetry.refused.Add(ctx, int64(n), metric.WithAttributeSet(attribute.NewSet(attribute.String("route", string(r)))))
	e.once(fmt.Sprintf("refused:%d", result.status), func() {
		e.logger.Error("flagsync exporter: FlagSync refused items as invalid; they are dropped (further ones are counted in otelcol_exporter_flagsync_refused)", zap.String("route", string(r)), zap.String("answer", result.message))
	})
}

// retryError makes exporterhelper retry: after Retry-After (capped), after a pause for a
// configuration problem (reported once, the data kept), else with its backoff.
func (e *flagsyncExporter) retryError(result postResult) error {
	err := errors.New(result.message)
	if result.kind == resultConfig {
		e.once(fmt.Sprintf("config:%d", result.status), func() {
			e.logger.Error("flagsync exporter: FlagSync's answer means a configuration problem; the data is kept and retried until it is fixed", zap.String("answer", result.message))
		})
		return exporterhelper.NewThrottleRetry(err, e.cfg.ConfigErrorRetryDelay)
	}
	if result.retryAfter > 0 {
		return exporterhelper.NewThrottleRetry(err, result.retryAfter)
	}
	return err
}

func (e *flagsyncExporter) once(key string, fn func()) {
	if _, loaded := e.logOnce.LoadOrStore(key, true); !loaded {
		fn()
	}
}
