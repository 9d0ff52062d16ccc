// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/metric"
)

// The trace memory of derived events: from trace id to the contexts flags were evaluated for,
// and the matching spans waiting for one.

// derivedEvent is one event derived from a span, and what identifies it across sends.
type derivedEvent struct {
	json   []byte
	source []byte
}

// waiting is a matching span whose trace has no evaluation yet: its event minus the context.
type waiting struct {
	tail   []byte // from `,"eventKey"` to the closing brace
	source []byte // span ids and rule
}

type traceEntry struct {
	contextKeys  []string
	contextTexts map[string][]byte
	pending      []waiting
	expires      time.Time
}

// traceContexts is the bounded, time-limited memory from trace id to the contexts flags were
// evaluated for, and the matching spans waiting for one. Safe for concurrent use.
type traceContexts struct {
	mu        sync.Mutex
	traces    map[pcommon.TraceID]*traceEntry
	order     []pcommon.TraceID // insertion order, for eviction
	window    time.Duration
	maxTraces int
	// unattributed counts matching spans forgotten without a context (nil: not counted).
	unattributed func(ctx context.Context, spans int64)
	now          func() time.Time
}

func newTraceContexts(window time.Duration, maxTraces int) *traceContexts {
	return &traceContexts{traces: map[pcommon.TraceID]*traceEntry{}, window: window, maxTraces: maxTraces, now: time.Now}
}

// clear forgets every trace (at shutdown): spans still waiting count as unattributed.
func (t *traceContexts) clear(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.traces {
		t.forget(ctx, id)
	}
	t.order = nil
}

// note records a context for a trace; it returns the events of spans that were waiting for one.
func (t *traceContexts) note(ctx context.Context, traceID pcommon.TraceID, key, text []byte) []derivedEvent {
	if traceID.IsEmpty() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	entry := t.entry(ctx, traceID)
	if _, seen := entry.contextTexts[string(key)]; !seen {
		k := string(key)
		entry.contextKeys = append(entry.contextKeys, k)
		entry.contextTexts[k] = text
	}
	if len(entry.pending) == 0 {
		return nil
	}
	var out []derivedEvent
	for _, w := range entry.pending {
		out = append(out, entry.events(w)...)
	}
	entry.pending = nil
	return out
}

// attribute gives a matching span's events, or keeps it waiting for its trace's first context.
func (t *traceContexts) attribute(ctx context.Context, traceID pcommon.TraceID, w waiting) []derivedEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	entry := t.entry(ctx, traceID)
	if len(entry.contextKeys) == 0 {
		entry.pending = append(entry.pending, w)
		return nil
	}
	return entry.events(w)
}

func (e *traceEntry) events(w waiting) []derivedEvent {
	out := make([]derivedEvent, 0, len(e.contextKeys))
	for _, key := range e.contextKeys {
		b := make([]byte, 0, 64+len(e.contextTexts[key])+len(w.tail))
		b = append(b, `{"context":`...)
		b = append(b, e.contextTexts[key]...)
		b = append(b, w.tail...)
		source := append(append(append([]byte{}, w.source...), 0), key...)
		out = append(out, derivedEvent{json: b, source: source})
	}
	return out
}

func (t *traceContexts) entry(ctx context.Context, traceID pcommon.TraceID) *traceEntry {
	now := t.now()
	if e, ok := t.traces[traceID]; ok {
		if e.expires.After(now) {
			return e
		}
		t.forget(ctx, traceID)
	}
	t.evict(ctx, now)
	e := &traceEntry{contextTexts: map[string][]byte{}, expires: now.Add(t.window)}
	t.traces[traceID] = e
	t.order = append(t.order, traceID)
	return e
}

// evict forgets expired traces (the oldest first), then the oldest beyond the bound.
func (t *traceContexts) evict(ctx context.Context, now time.Time) {
	i := 0
	for ; i < len(t.order); i++ {
		id := t.order[i]
		e, ok := t.traces[id]
		if ok && e.expires.After(now) && len(t.traces) < t.maxTraces {
			break
		}
		if ok {
			t.forget(ctx, id)
		}
	}
	if i > 0 {
		t.order = append(t.order[:0], t.order[i:]...)
	}
}

func (t *traceContexts) forget(ctx context.Context, id pcommon.TraceID) {
	if e, ok := t.traces[id]; ok {
		if len(e.pending) > 0 && t.unattributed != nil {
			t.unattributed(ctx, int64(len(e.pending)))
		}
		delete(t.traces, id)
	}
}

// deriver applies rules to spans and joins them to contexts.
// The traces and logs exporters of one component share one trace memory, held while either
// exists (as collector-contrib's internal/sharedcomponent holds shared state) and freed at the
// last one's shutdown.
var (
	sharedTracesMu sync.Mutex
	sharedTraces   = map[component.ID]*sharedTraceContexts{}
)

type sharedTraceContexts struct {
	traces *traceContexts
	refs   int
}

func acquireTraceContexts(id component.ID, cfg *Config, unattributed metric.Int64Counter) *traceContexts {
	sharedTracesMu.Lock()
	defer sharedTracesMu.Unlock()
	shared, ok := sharedTraces[id]
	if !ok {
		t := newTraceContexts(cfg.DerivedEventsWindow, cfg.DerivedEventsMaxTraces)
		t.unattributed = func(ctx context.Context, spans int64) { unattributed.Add(ctx, spans) }
		shared = &sharedTraceContexts{traces: t}
		sharedTraces[id] = shared
	}
	shared.refs++
	return shared.traces
}

func releaseTraceContexts(ctx context.Context, id component.ID) {
	sharedTracesMu.Lock()
	defer sharedTracesMu.Unlock()
	shared, ok := sharedTraces[id]
	if !ok {
		return
	}
	shared.refs--
	if shared.refs > 0 {
		return
	}
	delete(sharedTraces, id)
	shared.traces.clear(ctx)
}
