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

func newExporter(cfg *Config, set exporter.Settings, signal pipeline.Signal) (*flagsyncExporter, error) {
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
		derived = &deriver{rules: rules, traces: acquireTraceContexts(set.ID, cfg, telemetry.ExporterFlagsyncUnattributed)}
	}
	r := &reports{logger: set.Logger}
	return &flagsyncExporter{
		cfg:        cfg,
		set:        set,
		telemetry:  telemetry,
		conversion: newConversion(cfg, derived, telemetry, r),
		delivery:   &delivery{configErrorRetryDelay: cfg.ConfigErrorRetryDelay, telemetry: telemetry, reports: r},
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
	e.delivery.client = &flagsyncClient{
		http:          httpClient,
		baseURL:       strings.TrimRight(e.cfg.ClientConfig.Endpoint, "/"),
		sdkKey:        string(e.cfg.SDKKey),
		maxRetryAfter: e.cfg.MaxRetryAfter,
	}
	progress := progressStore(newMemoryProgress(e.cfg.DeliveryMemory))
	if queue := e.cfg.QueueConfig.Get(); e.cfg.QueueConfig.HasValue() && queue.StorageID != nil {
		client, err := storageClient(ctx, host, *queue.StorageID, e.set.ID, "delivery_"+e.signal.String())
		if err != nil {
			return err
		}
		progress = &storageProgress{client: client, ttl: e.cfg.DeliveryMemory, logger: e.set.Logger}
	}
	progress.sweep(ctx)
	e.delivery.progress = progress
	// The sweep outlives start's context (the collector's to cancel once started) until shutdown.
	sweepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSweep, e.sweeping = stop, make(chan struct{})
	go e.sweepPeriodically(sweepCtx, progress)
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

func (e *flagsyncExporter) sweepPeriodically(ctx context.Context, progress progressStore) {
	defer close(e.sweeping)
	ticker := time.NewTicker(10 * time.Minute)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			progress.sweep(ctx)
		}
	}
}

func (e *flagsyncExporter) shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() {
		if e.conversion.derived != nil {
			releaseTraceContexts(ctx, e.set.ID)
		}
		e.telemetry.Shutdown()
	})
	if e.delivery.progress == nil {
		return nil
	}
	e.stopSweep()
	<-e.sweeping
	progress := e.delivery.progress
	e.delivery.progress = nil
	return progress.close(ctx)
}
