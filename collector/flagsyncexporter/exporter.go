// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// flagsyncExporter wires the parts of one signal's exporter and runs their lifecycle:
// conversion (conversion.go, before the queue), chunks and the queue's requests (request.go),
// delivery and FlagSync's answers (delivery.go, client.go), derived events (derived.go) and the
// delivery progress (progress.go).
type flagsyncExporter struct {
	cfg        *Config
	set        exporter.Settings
	telemetry  *metadata.TelemetryBuilder
	conversion *conversion
	delivery   *delivery
	// shutdownOnce releases what newExporter took (the shared trace memory, the telemetry).
	shutdownOnce sync.Once
	// stopSweep ends the periodic sweep started by start; sweeping is closed when it has ended.
	stopSweep context.CancelFunc
	sweeping  chan struct{}
	// signal names this exporter's delivery record: the traces and logs exporters of one
	// component each have their own, as they have their own queue.
	signal pipeline.Signal
}

func newExporter(ctx context.Context, cfg *Config, set exporter.Settings, signal pipeline.Signal) (*flagsyncExporter, error) {
	telemetry, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	rules, err := compileRules(cfg.DerivedEvents)
	if err != nil {
		return nil, err
	}
	var derived *deriver
	// The traces and logs exporters of one component share the trace memory, so evaluations
	// recorded as logs count for spans.
	if len(rules) > 0 {
		traces, err := acquireTraceMemory(set.ID, func() (traceMemory, error) { return newTraceMemory(ctx, cfg, telemetry) })
		if err != nil {
			telemetry.Shutdown()
			return nil, err
		}
		derived = &deriver{rules: rules, traces: traces}
	}
	r := &reports{logger: set.Logger}
	return &flagsyncExporter{
		cfg:        cfg,
		set:        set,
		telemetry:  telemetry,
		conversion: newConversion(cfg, derived, telemetry, r),
		delivery:   &delivery{configErrorRetryDelay: cfg.ConfigErrorRetryDelay, heldRetryDelay: 5 * time.Second, telemetry: telemetry, reports: r},
		signal:     signal,
	}, nil
}

func (e *flagsyncExporter) start(ctx context.Context, host component.Host) error {
	httpClient, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	// A redirect means a wrong endpoint: it is reported, never followed with the key.
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Each request gets its own timeout, which grows while FlagSync is slow (request_timeout.go);
	// with the shared store it ends before the claim does, so no second copy is ever in flight.
	httpClient.Timeout = 0
	var limit time.Duration
	if e.cfg.DeliveryStore.Postgres.enabled() {
		limit = e.cfg.DeliveryStore.Postgres.ClaimTimeout - e.cfg.DeliveryStore.Postgres.claimMargin()
	}
	e.delivery.client = &flagsyncClient{
		http:          httpClient,
		timeout:       newRequestTimeout(e.cfg.ClientConfig.Timeout, limit),
		baseURL:       strings.TrimRight(e.cfg.ClientConfig.Endpoint, "/"),
		sdkKey:        string(e.cfg.SDKKey),
		maxRetryAfter: e.cfg.MaxRetryAfter,
	}
	store, err := e.newStore(ctx, host)
	if err != nil {
		return err
	}
	if err := store.sweep(ctx); err != nil {
		e.reportSweep(err)
	}
	e.delivery.store = store
	// The sweep outlives start's context (the collector's to cancel once started) until shutdown.
	sweepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSweep, e.sweeping = stop, make(chan struct{})
	go e.sweepPeriodically(sweepCtx, store)
	return nil
}

// newStore opens the delivery store: PostgreSQL when configured, else local (the sending
// queue's storage extension when it has one, else memory).
func (e *flagsyncExporter) newStore(ctx context.Context, host component.Host) (deliveryStore, error) {
	if e.cfg.DeliveryStore.Postgres.enabled() {
		return newPostgresStore(ctx, e.cfg)
	}
	if queue := e.cfg.QueueConfig.Get(); e.cfg.QueueConfig.HasValue() && queue.StorageID != nil {
		client, err := storageClient(ctx, host, *queue.StorageID, e.set.ID, "delivery_"+e.signal.String())
		if err != nil {
			return nil, err
		}
		return newLocalStore(newStorageRecords(client, e.cfg.DeliveryMemory)), nil
	}
	return newLocalStore(newMemoryRecords(e.cfg.DeliveryMemory)), nil
}

// reportSweep reports a failed sweep once: delivery goes on; old records stay a while longer.
func (e *flagsyncExporter) reportSweep(err error) {
	e.delivery.reports.once("store:sweep", func() {
		e.set.Logger.Warn("flagsync exporter: the delivery store could not forget old records; delivery continues", zap.Error(err))
	})
}

// newTraceMemory makes the component's trace memory: in the shared store when configured, else local.
func newTraceMemory(ctx context.Context, cfg *Config, telemetry *metadata.TelemetryBuilder) (traceMemory, error) {
	counters := traceCounters{
		unattributed: func(ctx context.Context, spans int64) { telemetry.ExporterFlagsyncUnattributed.Add(ctx, spans) },
		dropped: func(ctx context.Context, reason string, n int64) {
			telemetry.ExporterFlagsyncDerivedDropped.Add(ctx, n, metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
		},
	}
	if cfg.DeliveryStore.Postgres.enabled() {
		store, err := newPostgresStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return &postgresTraces{store: store, scope: storeScope(cfg), window: cfg.DerivedEventsWindow, perTrace: cfg.DerivedEventsMaxPerTrace, counters: counters}, nil
	}
	t := newTraceContexts(cfg.DerivedEventsWindow, traceLimits{traces: cfg.DerivedEventsMaxTraces, bytes: cfg.DerivedEventsMaxBytes, perTrace: cfg.DerivedEventsMaxPerTrace})
	t.counters = counters
	return t, nil
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

func (e *flagsyncExporter) sweepPeriodically(ctx context.Context, store deliveryStore) {
	defer close(e.sweeping)
	// The shared store purges in bounded batches: often enough that each sweep has little to do.
	period := 10 * time.Minute
	if e.cfg.DeliveryStore.Postgres.enabled() {
		period = time.Minute
	}
	ticker := time.NewTicker(period)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if err := store.sweep(ctx); err != nil && ctx.Err() == nil {
				e.reportSweep(err)
			}
			if e.conversion.derived != nil {
				if err := e.conversion.derived.traces.sweep(ctx); err != nil && ctx.Err() == nil {
					e.reportSweep(err)
				}
			}
		}
	}
}

func (e *flagsyncExporter) shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() {
		if e.conversion.derived != nil {
			if err := releaseTraceMemory(ctx, e.set.ID); err != nil {
				e.set.Logger.Warn("flagsync exporter: closing the trace memory failed", zap.Error(err))
			}
		}
		e.telemetry.Shutdown()
	})
	if e.delivery.store == nil {
		return nil
	}
	e.stopSweep()
	<-e.sweeping
	store := e.delivery.store
	e.delivery.store = nil
	return store.close(ctx)
}
