// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestTimeoutGrowsToItsBoundAndComesBack(t *testing.T) {
	rt := newRequestTimeout(10*time.Second, 45*time.Second)
	for _, want := range []time.Duration{20 * time.Second, 40 * time.Second, 45 * time.Second, 45 * time.Second} {
		rt.timedOut()
		assert.Equal(t, want, rt.get())
	}
	rt.answered(30 * time.Second)
	assert.Equal(t, 45*time.Second, rt.get(), "FlagSync still slow: kept")
	rt.answered(time.Second)
	assert.Equal(t, 22500*time.Millisecond, rt.get())
	rt.answered(time.Second)
	rt.answered(time.Second)
	assert.Equal(t, 10*time.Second, rt.get(), "never below the configured timeout")
	assert.Equal(t, maxTimeoutGrowth*time.Second, newRequestTimeout(time.Second, 0).limit)
}

// While FlagSync is slow, the retry of a request that timed out waits longer instead of being
// cut at the same point again.
func TestSlowFlagSyncGetsALongerTimeoutOnRetry(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, func(c *Config) { c.ClientConfig.Timeout = 100 * time.Millisecond })
	fs.then(func(w http.ResponseWriter) { time.Sleep(150 * time.Millisecond); w.WriteHeader(http.StatusCreated) })
	err := h.pushTraces(request("u1"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timeout 100ms; the next attempt waits longer")
	assert.Equal(t, 200*time.Millisecond, h.exp.delivery.client.timeout.get())
	require.NoError(t, h.retry())
	assert.Equal(t, []string{"u1"}, fs.keys("impressions"))
}
