// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"sync"
	"time"
)

// requestTimeout is the timeout of one request to FlagSync. While FlagSync is slow it grows: a
// request that timed out goes again (after exporterhelper's backoff) with twice the time, up to
// its bound, instead of being cut at the same point over and over (each cut copy may count at
// FlagSync). It comes back down once answers take less than half of it.
type requestTimeout struct {
	mu      sync.Mutex
	base    time.Duration
	limit   time.Duration
	current time.Duration
}

// maxTimeoutGrowth bounds the growth: at most this many times the configured timeout.
const maxTimeoutGrowth = 8

// newRequestTimeout starts at base and grows up to limit (0: maxTimeoutGrowth times base).
func newRequestTimeout(base, limit time.Duration) *requestTimeout {
	if limit <= 0 || limit > maxTimeoutGrowth*base {
		limit = maxTimeoutGrowth * base
	}
	return &requestTimeout{base: base, limit: max(limit, base), current: base}
}

func (t *requestTimeout) get() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.current
}

// timedOut doubles the timeout, to its bound.
func (t *requestTimeout) timedOut() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current = min(2*t.current, t.limit)
}

// answered brings the timeout back down when FlagSync answered well within it.
func (t *requestTimeout) answered(took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if took < t.current/2 {
		t.current = max(t.current/2, t.base)
	}
}
