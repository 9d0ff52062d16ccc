// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
)

// The traces and logs exporters of one component share one trace memory, so evaluations recorded
// as logs count for spans; it is held while either exists (as collector-contrib's
// internal/sharedcomponent holds shared state) and closed at the last one's shutdown.
var (
	sharedTracesMu sync.Mutex
	sharedTraces   = map[component.ID]*sharedTraceMemory{}
)

type sharedTraceMemory struct {
	memory traceMemory
	refs   int
}

// acquireTraceMemory gives the component's trace memory, made by create for the first exporter.
func acquireTraceMemory(id component.ID, create func() (traceMemory, error)) (traceMemory, error) {
	sharedTracesMu.Lock()
	defer sharedTracesMu.Unlock()
	shared, ok := sharedTraces[id]
	if !ok {
		memory, err := create()
		if err != nil {
			return nil, err
		}
		shared = &sharedTraceMemory{memory: memory}
		sharedTraces[id] = shared
	}
	shared.refs++
	return shared.memory, nil
}

func releaseTraceMemory(ctx context.Context, id component.ID) error {
	sharedTracesMu.Lock()
	defer sharedTracesMu.Unlock()
	shared, ok := sharedTraces[id]
	if !ok {
		return nil
	}
	shared.refs--
	if shared.refs > 0 {
		return nil
	}
	delete(sharedTraces, id)
	return shared.memory.close(ctx)
}
