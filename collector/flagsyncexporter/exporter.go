// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
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
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// flagsyncExporter converts span events and log records to FlagSync impressions and events and
// posts them to FlagSync's server track routes. The queue, its persistence and the retries are
// exporterhelper's; a push that fails part-way returns only the undelivered part for retry.
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
}

type telemetry struct {
	delivered, refused, unconfirmed, duplicates, rejected, damaged metric.Int64Counter
}

func newExporter(cfg *Config, set exporter.Settings, signal pipeline.Signal) *flagsyncExporter {
	e := &flagsyncExporter{cfg: cfg, set: set, logger: set.Logger, stopSweep: make(chan struct{}), signal: signal}
	e.converters.New = func() any { return newConverter(cfg.ProviderNames) }
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

// item is one converted impression or event and where in the request it came from.
type item struct {
	json   []byte
	span   spanRef
	event  int
	record recordRef
}

func (e *flagsyncExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	c := e.converters.Get().(*converter)
	defer e.converters.Put(c)
	var impressions, events []item
	forEachSpan(td, func(ref spanRef, span ptrace.Span) {
		spanEvents := span.Events()
		for i := 0; i < spanEvents.Len(); i++ {
			event := spanEvents.At(i)
			if !isCandidate(event.Name()) {
				continue
			}
			o := c.convert(event.Name(), uint64(event.Timestamp()), spanEventAttributes(event.Attributes()))
			impressions, events = e.sorted(ctx, o, item{json: o.json, span: ref, event: i}, impressions, events)
		}
	})
	undelivered, err := e.deliver(ctx, impressions, events)
	if err == nil {
		return nil
	}
	if len(undelivered) == 0 {
		return err
	}
	byspan := map[spanRef][]int{}
	for _, it := range undelivered {
		byspan[it.span] = append(byspan[it.span], it.event)
	}
	return consumererror.NewTraces(err, undeliveredTraces(td, byspan))
}

func (e *flagsyncExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	c := e.converters.Get().(*converter)
	defer e.converters.Put(c)
	var impressions, events []item
	forEachLogRecord(ld, func(ref recordRef, lr plog.LogRecord) {
		if !isCandidate(lr.EventName()) {
			return
		}
		o := c.convert(lr.EventName(), logRecordTime(lr), logRecordAttributes(lr.Attributes(), lr.Body()))
		impressions, events = e.sorted(ctx, o, item{json: o.json, record: ref}, impressions, events)
	})
	undelivered, err := e.deliver(ctx, impressions, events)
	if err == nil {
		return nil
	}
	if len(undelivered) == 0 {
		return err
	}
	records := map[recordRef]bool{}
	for _, it := range undelivered {
		records[it.record] = true
	}
	return consumererror.NewLogs(err, undeliveredLogs(ld, records))
}

// sorted puts a converted item on its route, and counts (and reports once) what is not delivered.
func (e *flagsyncExporter) sorted(ctx context.Context, o outcome, it item, impressions, events []item) ([]item, []item) {
	switch o.kind {
	case outcomeImpression:
		impressions = append(impressions, it)
	case outcomeEvent:
		events = append(events, it)
	case outcomeRejected:
		e.telemetry.rejected.Add(ctx, 1)
		e.once("rejected:"+o.reason, func() {
			e.logger.Warn("flagsync exporter: a FlagSync event could not be converted and is dropped; further ones are counted in otelcol_exporter_flagsync_rejected", zap.String("reason", o.reason))
		})
	case outcomeDamaged:
		e.telemetry.damaged.Add(ctx, 1)
		e.once("damaged", func() {
			e.logger.Warn("flagsync exporter: a FlagSync event arrived cut by attribute limits and is ignored (the instrumentation leaves such calls to the FlagSync SDK where it can tell); raise the app's attribute value length limit or use the log signal")
		})
	}
	return impressions, events
}

// deliver posts both routes' items in batches, in order. It returns nil when every item was
// delivered (or dropped as refused), else the error and the items to retry.
func (e *flagsyncExporter) deliver(ctx context.Context, impressions, events []item) ([]item, error) {
	var done []string
	for _, lane := range []struct {
		r     route
		items []item
	}{{routeImpressions, impressions}, {routeEvents, events}} {
		batches := e.batches(lane.items)
		for len(batches) > 0 {
			batch := batches[0]
			batches = batches[1:]
			outcome, key := e.send(ctx, lane.r, batch)
			switch outcome.kind {
			case resultDelivered:
				done = append(done, key)
			case resultTooLarge:
				if len(batch) > 1 {
					half := len(batch) / 2
					batches = append([][]item{batch[:half], batch[half:]}, batches...)
					continue
				}
				e.refused(ctx, lane.r, 1, outcome)
			case resultInvalid:
				e.refused(ctx, lane.r, len(batch), outcome)
			default:
				// Everything from here on is retried; what was delivered is not sent again.
				rest := flatten(append([][]item{batch}, batches...))
				if lane.r == routeImpressions {
					rest = append(rest, events...)
				}
				return rest, e.retryError(outcome)
			}
		}
	}
	// The whole request arrived: its markers are no longer needed (it will not be sent again).
	e.progress.remove(ctx, done)
	return nil, nil
}

// send posts one batch, unless FlagSync already has it; the marker says how far it got.
func (e *flagsyncExporter) send(ctx context.Context, r route, batch []item) (postResult, string) {
	jsons := make([][]byte, len(batch))
	for i, it := range batch {
		jsons[i] = it.json
	}
	key := batchKey(jsons)
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("route", string(r))))
	switch state, ok := e.progress.get(ctx, key); {
	case ok && state == stateDelivered:
		e.telemetry.duplicates.Add(ctx, int64(len(batch)), attrs)
		return postResult{kind: resultDelivered}, key
	case ok && state == stateSent:
		// Sent before without an answer: FlagSync may have it already.
		e.telemetry.unconfirmed.Add(ctx, int64(len(batch)), attrs)
	}
	e.progress.set(ctx, key, stateSent)
	result := e.client.post(ctx, r, requestBody(r, jsons))
	if result.kind == resultDelivered {
		e.progress.set(ctx, key, stateDelivered)
		e.telemetry.delivered.Add(ctx, int64(len(batch)), attrs)
	} else if !result.unconfirmed {
		// FlagSync answered: it did not store the batch.
		e.progress.remove(ctx, []string{key})
	}
	return result, key
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

// batches splits items into FlagSync requests of at most max_batch_size items and
// max_batch_bytes bytes (an item larger than that goes alone).
func (e *flagsyncExporter) batches(items []item) [][]item {
	var out [][]item
	start, size := 0, 64
	for i, it := range items {
		if i > start && (i-start >= e.cfg.MaxBatchSize || size+len(it.json)+1 > e.cfg.MaxBatchBytes) {
			out = append(out, items[start:i])
			start, size = i, 64
		}
		size += len(it.json) + 1
	}
	if start < len(items) {
		out = append(out, items[start:])
	}
	return out
}

func flatten(batches [][]item) []item {
	var out []item
	for _, b := range batches {
		out = append(out, b...)
	}
	return out
}

func (e *flagsyncExporter) once(key string, fn func()) {
	if _, loaded := e.logOnce.LoadOrStore(key, true); !loaded {
		fn()
	}
}
