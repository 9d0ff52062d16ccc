// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// NewFactory creates the flagsync exporter's factory: traces (span events) and logs (log-based events).
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		createDefaultConfig,
		exporter.WithTraces(createTraces, metadata.TracesStability),
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	clientConfig := confighttp.NewDefaultClientConfig()
	clientConfig.Endpoint = defaultEndpoint
	clientConfig.Timeout = 10 * time.Second
	queue := exporterhelper.NewDefaultQueueConfig()
	// Business data is never given up silently: retried until FlagSync takes it. Meanwhile the
	// queue fills; what does not fit is refused and counted (otelcol_exporter_enqueue_failed_*).
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0
	return &Config{
		ClientConfig:           clientConfig,
		QueueConfig:            configoptional.Some(queue),
		RetryConfig:            retry,
		MaxBatchSize:           500,
		MaxBatchBytes:          1 << 20,
		MaxRetryAfter:          5 * time.Minute,
		ConfigErrorRetryDelay:  30 * time.Second,
		DeliveryMemory:         24 * time.Hour,
		DerivedEventsWindow:    5 * time.Minute,
		DerivedEventsMaxTraces: 100_000,
		// Contexts are a few hundred bytes: room for every trace at the default bound.
		DerivedEventsMaxBytes:    64 << 20,
		DerivedEventsMaxPerTrace: 1000,
		DeliveryStore:            DeliveryStoreConfig{Postgres: PostgresStoreConfig{ClaimTimeout: 2 * time.Minute}},
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	exp, err := newExporter(ctx, c, set, pipeline.SignalTraces)
	if err != nil {
		return nil, err
	}
	return xexporterhelper.NewTracesRequest(ctx, set, exp.conversion.convertTraces, exp.delivery.push, helperOptions(c, exp)...)
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	exp, err := newExporter(ctx, c, set, pipeline.SignalLogs)
	if err != nil {
		return nil, err
	}
	return xexporterhelper.NewLogsRequest(ctx, set, exp.conversion.convertLogs, exp.delivery.push, helperOptions(c, exp)...)
}

func helperOptions(c *Config, exp *flagsyncExporter) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(exp.start),
		exporterhelper.WithShutdown(exp.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// Each request to FlagSync has the HTTP client's timeout; a push may make several.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(c.RetryConfig),
		// The queue holds converted requests (request.go), persisted with their own encoding.
		xexporterhelper.WithQueueBatch(c.QueueConfig, xexporterhelper.QueueBatchSettings{Encoding: requestEncoding{}}),
	}
}
