// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"sync"

	"go.uber.org/zap"
)

// reports logs each kind of problem once (the counters keep the rest): an exporter's conversion
// and delivery share one.
type reports struct {
	logger *zap.Logger
	seen   sync.Map
}

func (r *reports) once(key string, fn func()) {
	if _, loaded := r.seen.LoadOrStore(key, true); !loaded {
		fn()
	}
}
