// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewIDWithName("file_storage", "flagsync")

	tests := []struct {
		id       component.ID
		check    func(t *testing.T, cfg *Config)
		errorMsg string
	}{
		{
			id: component.NewID(metadata.Type),
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "server-sdk-key", string(cfg.SDKKey))
				assert.Equal(t, defaultEndpoint, cfg.ClientConfig.Endpoint)
				assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
				assert.Equal(t, 500, cfg.MaxBatchSize)
				assert.Equal(t, 1<<20, cfg.MaxBatchBytes)
				assert.Empty(t, cfg.ProviderNames)
				assert.Equal(t, 5*time.Minute, cfg.MaxRetryAfter)
				assert.True(t, cfg.RetryConfig.Enabled)
				assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime, "business data is never given up silently")
				assert.True(t, cfg.QueueConfig.HasValue())
				assert.False(t, cfg.QueueConfig.Get().Batch.HasValue(), "no batching in the queue by default: requests replayed after a restart are the ones sent")
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			check: func(t *testing.T, cfg *Config) {
				assert.Equal(t, "https://flagsync.example.com/", cfg.ClientConfig.Endpoint)
				assert.Equal(t, 5*time.Second, cfg.ClientConfig.Timeout)
				assert.Equal(t, 200, cfg.MaxBatchSize)
				assert.Equal(t, 262144, cfg.MaxBatchBytes)
				assert.Equal(t, []string{"FlagSync"}, cfg.ProviderNames)
				assert.Equal(t, time.Minute, cfg.MaxRetryAfter)
				assert.Equal(t, 10*time.Second, cfg.ConfigErrorRetryDelay)
				assert.Equal(t, 2*time.Hour, cfg.DeliveryMemory)
				assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime)
				assert.Equal(t, &storageID, cfg.QueueConfig.Get().StorageID)
				assert.Equal(t, 4, cfg.QueueConfig.Get().NumConsumers)
				require.Len(t, cfg.DerivedEvents, 2)
				assert.Equal(t, "http_server_duration_ms", cfg.DerivedEvents[0].EventKey)
				assert.Equal(t, []any{200, 201, 204}, cfg.DerivedEvents[0].Match.Attributes[0].In)
				assert.Equal(t, "error", cfg.DerivedEvents[1].Value.When.Status)
				assert.Equal(t, 2*time.Minute, cfg.DerivedEventsWindow)
				assert.Equal(t, 5000, cfg.DerivedEventsMaxTraces)
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_rules"),
			errorMsg: "derived_events[0]: event_key must be a non-empty string\n" +
				"derived_events[1]: match needs at least one criterion: a rule matching every span is almost surely a mistake\n" +
				"derived_events[2]: match.span_name_regex is not a valid RE2 regular expression: error parsing regexp: missing closing ): `(`\n" +
				"derived_events[3]: value.from must be duration, attribute or flag",
		},
		{
			id: component.NewIDWithName(metadata.Type, "shared_store"),
			check: func(t *testing.T, cfg *Config) {
				assert.True(t, cfg.DeliveryStore.Postgres.enabled())
				assert.Equal(t, 3*time.Minute, cfg.DeliveryStore.Postgres.ClaimTimeout)
				assert.Equal(t, 2<<20, cfg.DerivedEventsMaxBytes)
				assert.Equal(t, 50, cfg.DerivedEventsMaxPerTrace)
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "local_store"),
			check: func(t *testing.T, cfg *Config) {
				assert.False(t, cfg.DeliveryStore.Postgres.enabled(), "an empty dsn is the local store")
				assert.Equal(t, 2*time.Minute, cfg.DeliveryStore.Postgres.ClaimTimeout)
				assert.Equal(t, 64<<20, cfg.DerivedEventsMaxBytes)
				assert.Equal(t, 1000, cfg.DerivedEventsMaxPerTrace)
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "bad_store"),
			errorMsg: "delivery_store.postgres.dsn is not a valid PostgreSQL connection string (postgres://user:password@host:port/database, or host=... user=... key=value pairs)\n" +
				"delivery_store.postgres.claim_timeout (30s) must be at least 4/3 of timeout (30s): a claim outlives every request to FlagSync",
		},
		{id: component.NewIDWithName(metadata.Type, "no_key"), errorMsg: "sdk_key is required (the FlagSync server SDK key)"},
		{id: component.NewIDWithName(metadata.Type, "bad_endpoint"), errorMsg: `endpoint must be an http(s) URL, got "ftp://flagsync.example.com"`},
		{
			id:       component.NewIDWithName(metadata.Type, "bad_limits"),
			errorMsg: "max_batch_size must be from 1 to 10000, got 0\nmax_batch_bytes must be from 1024 to 67108864, got 10\nmax_retry_after must be from 1s to 1h, got 0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.errorMsg != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errorMsg)
				assert.NotContains(t, err.Error(), "PASSWORD", "the DSN is never quoted")
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg.(*Config))
		})
	}
}

// A misspelled setting or rule field fails the configuration, naming it, as collector components'
// settings do (the collector decodes with unused keys as errors).
func TestMisspelledSettingsFailTheConfiguration(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for name, invalid := range map[string]string{
		"misspelled":       "unknown flagsync exporter settings: sdk_kee (valid: auth, ",
		"misspelled_rule":  "unknown flagsync exporter settings: derived_events[0].valeu (valid: event_key, match, preset, properties, value)",
		"misspelled_store": "unknown flagsync exporter settings: delivery_store.postgres.dns (valid: claim_timeout, dsn)",
	} {
		t.Run(name, func(t *testing.T) {
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
			require.NoError(t, err)
			err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
			require.Error(t, err)
			assert.Contains(t, err.Error(), invalid)
		})
	}
}

func TestSDKKeyIsNeverPrinted(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.SDKKey = "server-sdk-key-SECRET"
	assert.NotContains(t, cfg.SDKKey.String(), "SECRET")
}

func TestStoreDSNIsNeverPrinted(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.DeliveryStore.Postgres.DSN = "postgres://u:store-SECRET@localhost/db"
	assert.NotContains(t, cfg.DeliveryStore.Postgres.DSN.String(), "SECRET")
}
