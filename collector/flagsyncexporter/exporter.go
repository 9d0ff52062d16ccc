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
	"go.opentelemetry.io/collector/consumer/consumererror"
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

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
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
	telemetry  *metadata.TelemetryBuilder
	logOnce    sync.Map
	// shutdownOnce releases what newExporter took (the shared trace memory, the telemetry).
	shutdownOnce sync.Once
	// stopSweep ends the periodic sweep started by start; sweeping is closed when it has ended.
	stopSweep context.CancelFunc
	sweeping  chan struct{}
	// signal names this exporter's delivery record: the traces and logs exporters of one
	// component each have their own, as they have their own queue.
	signal pipeline.Signal
	// derived applies the derived-event rules; nil without rules.
	derived *deriver
}

func newExporter(cfg *Config, set exporter.Settings, signal pipeline.Signal) (*flagsyncExporter, error) {
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &flagsyncExporter{cfg: cfg, set: set, logger: set.Logger, signal: signal, telemetry: telemetry}
	e.converters.New = func() any { return newConverter(cfg.ProviderNames) }
	rules, err := compileRules(cfg.DerivedEvents)
	if err != nil {
		return nil, err
	}
	// The traces and logs exporters of one component share the trace memory, so evaluations
	// recorded as logs count for spans.
	if len(rules) > 0 {
		e.derived = &deriver{rules: rules, traces: acquireTraceContexts(set.ID, cfg, telemetry.ExporterFlagsyncUnattributed)}
	}
	return e, nil
}

// kindAttributes are the kind attribute of a route's items, as the TypeScript self-metrics have it.
var kindAttributes = map[route]metric.MeasurementOption{
	routeImpressions: metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "impression"))),
	routeEvents:      metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", "event"))),
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
	// The sweep outlives start's context (the collector's to cancel once started) until shutdown.
	sweepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSweep, e.sweeping = stop, make(chan struct{})
	go e.sweepPeriodically(sweepCtx)
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

func (e *flagsyncExporter) sweepPeriodically(ctx context.Context) {
	defer close(e.sweeping)
	ticker := time.NewTicker(10 * time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.progress.sweep(ctx)
		}
	}
}

func (e *flagsyncExporter) shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() {
		if e.derived != nil {
			releaseTraceContexts(ctx, e.set.ID)
		}
		e.telemetry.Shutdown()
	})
	if e.progress == nil {
		return nil
	}
	e.stopSweep()
	<-e.sweeping
	progress := e.progress
	e.progress = nil
	return progress.close(ctx)
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
			e.addDerived(ctx, b, e.derived.derive(ctx, span, scope))
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
	e.addDerived(ctx, b, e.derived.traces.note(ctx, traceID, contextKey(o.context), o.context))
}

func (e *flagsyncExporter) addDerived(ctx context.Context, b *builder, events []derivedEvent) {
	for _, d := range events {
		b.events.add(d.json, d.source)
	}
	if len(events) > 0 {
		e.telemetry.ExporterFlagsyncDerived.Add(ctx, int64(len(events)))
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
		e.telemetry.ExporterFlagsyncRejected.Add(ctx, 1)
		e.once("rejected:"+o.reason, func() {
			e.logger.Warn("flagsync exporter: a FlagSync event could not be converted and is dropped; further ones are counted in otelcol_exporter_flagsync_rejected", zap.String("reason", o.reason))
		})
	case outcomeElsewhere:
		e.telemetry.ExporterFlagsyncElsewhere.Add(ctx, 1)
	case outcomeDamaged:
		e.telemetry.ExporterFlagsyncDamaged.Add(ctx, 1)
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
	// What FlagSync refused for good, in this push or an earlier one of the same request.
	refused := req.(*flagsyncRequest).refused
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
			refused = errors.Join(refused, e.refused(ctx, c.route, 1, result))
		case resultInvalid:
			refused = errors.Join(refused, e.refused(ctx, c.route, len(c.items), result))
		default:
			// This chunk and the rest are retried; what was delivered is not sent again.
			e.progress.mark(ctx, delivered, "")
			return &undeliveredError{err: e.retryError(result), rest: &flagsyncRequest{chunks: chunks, refused: refused}}
		}
		chunks = chunks[1:]
	}
	// The whole request was answered: its markers are no longer needed (it will not be sent again).
	e.progress.remove(ctx, keys)
	if refused != nil {
		// Dropped for good: exporterhelper counts the request as failed, not sent.
		return consumererror.NewPermanent(refused)
	}
	return nil
}

// send posts one chunk, unless FlagSync already has it (state, read before); the sent marker is
// written first, with the previous chunk's delivered one (*delivered), which it then replaces.
func (e *flagsyncExporter) send(ctx context.Context, c chunk, state batchState, delivered *string) postResult {
	attrs := kindAttributes[c.route]
	switch state {
	case stateDelivered:
		e.telemetry.ExporterFlagsyncDuplicatesSkipped.Add(ctx, int64(len(c.items)), attrs)
		return postResult{kind: resultDelivered}
	case stateSent:
		// Sent before without an answer: FlagSync may have it already.
		e.telemetry.ExporterFlagsyncUnconfirmed.Add(ctx, int64(len(c.items)), attrs)
	}
	if c.key != "" || *delivered != "" {
		e.progress.mark(ctx, *delivered, c.key)
		*delivered = ""
	}
	result := e.client.post(ctx, c.route, requestBody(c.route, c.items))
	switch {
	case result.kind == resultDelivered:
		e.telemetry.ExporterFlagsyncDelivered.Add(ctx, int64(len(c.items)), attrs)
		*delivered = c.key
	case c.key != "" && !result.unconfirmed:
		// FlagSync answered: it did not store the chunk.
		e.progress.remove(ctx, []string{c.key})
	}
	return result
}

// refused counts (and reports once) items FlagSync refused for good; it returns the error that
// makes the request a permanent failure.
func (e *flagsyncExporter) refused(ctx context.Context, r route, n int, result postResult) error {
	e.telemetry.ExporterFlagsyncFailed.Add(ctx, int64(n), kindAttributes[r])
	e.once(fmt.Sprintf("refused:%d", result.status), func() {
		e.logger.Error("flagsync exporter: FlagSync refused items as invalid; they are dropped (further ones are counted in otelcol_exporter_flagsync_failed)", zap.String("route", string(r)), zap.String("answer", result.message))
	})
	return fmt.Errorf("%d %s refused: %s", n, r, result.message)
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
