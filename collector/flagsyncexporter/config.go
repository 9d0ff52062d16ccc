// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the flagsync exporter's configuration. The HTTP client settings (endpoint, timeout,
// TLS, proxy, headers) are the collector's confighttp ones; the queue (with persistence through a
// storage extension) and retries are exporterhelper's.
type Config struct {
	// Endpoint is FlagSync's base URL (default https://sdk.flagsync.com); impressions go to
	// <endpoint>/track/impressions/server and events to <endpoint>/track/events/server.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// SDKKey is the FlagSync server SDK key, sent in the x-ridgeline-key header. Required.
	SDKKey configopaque.String `mapstructure:"sdk_key"`

	// MaxBatchSize is the most items (impressions or events) in one request to FlagSync.
	MaxBatchSize int `mapstructure:"max_batch_size"`
	// MaxBatchBytes is the largest request body sent to FlagSync.
	MaxBatchBytes int `mapstructure:"max_batch_bytes"`

	// ProviderNames are the feature_flag.provider.name values whose evaluations written by other
	// emitters (OpenFeature's OTel hooks) become impressions. Events written by flagsync-otel's
	// instrumentation always do. Default: none.
	ProviderNames []string `mapstructure:"provider_names"`

	// MaxRetryAfter caps how long a Retry-After from FlagSync (or a proxy in front of it) holds
	// back a retry; longer values are taken as this long.
	MaxRetryAfter time.Duration `mapstructure:"max_retry_after"`

	// ConfigErrorRetryDelay is how long to wait before retrying after an answer that means a
	// configuration problem (401, 403, 404, a redirect): the data is kept while it is fixed.
	ConfigErrorRetryDelay time.Duration `mapstructure:"config_error_retry_delay"`

	// DerivedEvents are rules turning spans into FlagSync events of the users whose flags were
	// evaluated in the same trace (derived.go). Every span of a trace must reach this collector
	// instance: in a fleet, route by trace id (the loadbalancing exporter), as tail sampling does.
	DerivedEvents []DerivedEventRule `mapstructure:"derived_events"`
	// DerivedEventsWindow is how long a trace's contexts (and spans waiting for one) are kept.
	DerivedEventsWindow time.Duration `mapstructure:"derived_events_window"`
	// DerivedEventsMaxTraces bounds the traces remembered at once (the oldest are forgotten first).
	DerivedEventsMaxTraces int `mapstructure:"derived_events_max_traces"`

	// DerivedEventsMaxBytes bounds the bytes of contexts and waiting spans the local trace memory
	// holds (the oldest traces are forgotten first); what it drops is counted.
	DerivedEventsMaxBytes int `mapstructure:"derived_events_max_bytes"`
	// DerivedEventsMaxPerTrace bounds the events derived from one trace (and the contexts and
	// waiting spans kept for it); what it drops is counted.
	DerivedEventsMaxPerTrace int `mapstructure:"derived_events_max_per_trace"`

	// DeliveryMemory is how long a delivered (or sent and unanswered) FlagSync item is remembered,
	// so that the same item sent again (an upstream retry, a replayed persistent queue, a collector
	// restart) is skipped if it arrived and counted if it may have.
	DeliveryMemory time.Duration `mapstructure:"delivery_memory"`

	// DeliveryStore is where delivery records and the trace memory are kept (config_store.go).
	DeliveryStore DeliveryStoreConfig `mapstructure:"delivery_store"`
}

var _ component.Config = (*Config)(nil)

const defaultEndpoint = "https://sdk.flagsync.com"

// Validate checks the configuration; errors name the setting and the accepted values.
func (cfg *Config) Validate() error {
	var errs []error
	key := string(cfg.SDKKey)
	switch {
	case strings.TrimSpace(key) == "":
		errs = append(errs, errors.New("sdk_key is required (the FlagSync server SDK key)"))
	case strings.ContainsAny(key, " \t\r\n"):
		errs = append(errs, errors.New("sdk_key must not contain white space"))
	}
	if u, err := url.Parse(cfg.ClientConfig.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint must be an http(s) URL, got %q", cfg.ClientConfig.Endpoint))
	}
	if cfg.MaxBatchSize < 1 || cfg.MaxBatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("max_batch_size must be from 1 to 10000, got %d", cfg.MaxBatchSize))
	}
	if cfg.MaxBatchBytes < 1024 || cfg.MaxBatchBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("max_batch_bytes must be from 1024 to 67108864, got %d", cfg.MaxBatchBytes))
	}
	if cfg.MaxRetryAfter < time.Second || cfg.MaxRetryAfter > time.Hour {
		errs = append(errs, fmt.Errorf("max_retry_after must be from 1s to 1h, got %s", cfg.MaxRetryAfter))
	}
	if cfg.ConfigErrorRetryDelay < time.Second || cfg.ConfigErrorRetryDelay > time.Hour {
		errs = append(errs, fmt.Errorf("config_error_retry_delay must be from 1s to 1h, got %s", cfg.ConfigErrorRetryDelay))
	}
	if cfg.DeliveryMemory < time.Minute || cfg.DeliveryMemory > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("delivery_memory must be from 1m to 168h, got %s", cfg.DeliveryMemory))
	}
	if _, err := compileRules(cfg.DerivedEvents); err != nil {
		errs = append(errs, err)
	}
	if cfg.DerivedEventsWindow < time.Second || cfg.DerivedEventsWindow > 24*time.Hour {
		errs = append(errs, fmt.Errorf("derived_events_window must be from 1s to 24h, got %s", cfg.DerivedEventsWindow))
	}
	if cfg.DerivedEventsMaxTraces < 1 || cfg.DerivedEventsMaxTraces > 10_000_000 {
		errs = append(errs, fmt.Errorf("derived_events_max_traces must be from 1 to 10000000, got %d", cfg.DerivedEventsMaxTraces))
	}
	if cfg.DerivedEventsMaxBytes < 1<<20 || cfg.DerivedEventsMaxBytes > 64<<30 {
		errs = append(errs, fmt.Errorf("derived_events_max_bytes must be from 1048576 (1 MiB) to 68719476736 (64 GiB), got %d", cfg.DerivedEventsMaxBytes))
	}
	if cfg.DerivedEventsMaxPerTrace < 1 || cfg.DerivedEventsMaxPerTrace > 1_000_000 {
		errs = append(errs, fmt.Errorf("derived_events_max_per_trace must be from 1 to 1000000, got %d", cfg.DerivedEventsMaxPerTrace))
	}
	errs = append(errs, cfg.DeliveryStore.Postgres.validate(cfg.ClientConfig.Timeout)...)
	for _, name := range cfg.ProviderNames {
		if strings.TrimSpace(name) == "" {
			errs = append(errs, errors.New("provider_names must not hold empty names"))
			break
		}
	}
	return errors.Join(errs...)
}
