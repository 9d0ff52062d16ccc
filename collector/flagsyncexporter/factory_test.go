// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// factoryConfig is a configuration against the fake FlagSync without a sending queue, so that
// Consume* returns the outcome of the delivery.
func factoryConfig(endpoint string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = endpoint
	cfg.SDKKey = testKey
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	return cfg
}

// Through the factory and exporterhelper, as the collector runs the exporter.
func TestCreateTracesDeliversThroughExporterhelper(t *testing.T) {
	fs := newFakeFlagSync(t)
	ctx := context.Background()
	exp, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(metadata.Type), factoryConfig(fs.URL))
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeTraces(ctx, request("u1", "u2")))
	assert.Equal(t, []string{"u1", "u2"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2"}, fs.keys("events"))
	require.NoError(t, exp.Shutdown(ctx))
}

func TestCreateLogsDeliversThroughExporterhelper(t *testing.T) {
	fs := newFakeFlagSync(t)
	ctx := context.Background()
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), factoryConfig(fs.URL))
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName(eventFlagSyncTrack)
	lr.SetTimestamp(1_795_000_000_000_000_000)
	setEvent(lr.Body().SetEmptyMap(), map[string]string{attrFlagSyncEventKey: "signup", attrFlagSyncContext: `{"key":"log-user"}`, attrFlagSyncCallID: "n.1"})
	require.NoError(t, exp.ConsumeLogs(ctx, ld))
	assert.Equal(t, []string{"log-user"}, fs.keys("events"))
	require.NoError(t, exp.Shutdown(ctx))
}

// What FlagSync refuses for good reaches the pipeline as a permanent error: not retried, and
// counted by exporterhelper as failed.
func TestCreateTracesRefusedItemsArePermanentErrors(t *testing.T) {
	fs := newFakeFlagSync(t)
	ctx := context.Background()
	exp, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(metadata.Type), factoryConfig(fs.URL))
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	badRequest := status(http.StatusBadRequest)
	fs.then(badRequest, badRequest) //nolint:gocritic // dupOption: both batches are refused
	err = exp.ConsumeTraces(ctx, request("u1"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Empty(t, fs.keys("impressions"))
	require.NoError(t, exp.Shutdown(ctx))
}
