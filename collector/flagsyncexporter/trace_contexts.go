// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// traceContexts is the local trace memory (trace_memory.go): bounded in traces, in bytes and per
// trace, time-limited, in this process only. Safe for concurrent use.
type traceContexts struct {
	mu       sync.Mutex
	traces   map[pcommon.TraceID]*traceEntry
	order    []pcommon.TraceID // insertion order, for eviction
	window   time.Duration
	limits   traceLimits
	bytes    int
	counters traceCounters
	now      func() time.Time
}

type traceLimits struct {
	traces   int
	bytes    int
	perTrace int
}

type traceEntry struct {
	contextKeys  [][]byte
	contextTexts map[string][]byte
	pending      []waiting
	expires      time.Time
	// made counts the events derived from the trace; bytes what the entry holds.
	made  int
	bytes int
}

// entryOverhead is what a trace costs beyond its contexts and spans (map entries, slices).
const entryOverhead = 160

func newTraceContexts(window time.Duration, limits traceLimits) *traceContexts {
	return &traceContexts{traces: map[pcommon.TraceID]*traceEntry{}, window: window, limits: limits, now: time.Now}
}

func (t *traceContexts) apply(ctx context.Context, notes []traceNote, spans []traceSpan) ([]derivedEvent, error) {
	var out []derivedEvent
	for _, n := range notes {
		out = append(out, t.note(ctx, n.traceID, n.key, n.text)...)
	}
	for _, s := range spans {
		out = append(out, t.attribute(ctx, s.traceID, s.waiting)...)
	}
	return out, nil
}

func (*traceContexts) sweep(context.Context) error { return nil }

// close forgets every trace (at shutdown): spans still waiting count as unattributed.
func (t *traceContexts) close(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.traces {
		t.forget(ctx, id, "")
	}
	t.order = nil
	return nil
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
		if size := len(key) + len(text); t.admits(ctx, traceID, len(entry.contextKeys), size) {
			entry.contextKeys = append(entry.contextKeys, key)
			entry.contextTexts[string(key)] = text
			t.grow(entry, size)
		}
	}
	if len(entry.pending) == 0 || len(entry.contextKeys) == 0 {
		return nil
	}
	var out []derivedEvent
	for _, w := range entry.pending {
		out = append(out, t.events(ctx, entry, w)...)
		t.grow(entry, -len(w.tail)-len(w.source))
	}
	entry.pending = nil
	return out
}

// attribute gives a matching span's events, or keeps it waiting for its trace's first context.
func (t *traceContexts) attribute(ctx context.Context, traceID pcommon.TraceID, w waiting) []derivedEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	entry := t.entry(ctx, traceID)
	if len(entry.contextKeys) > 0 {
		return t.events(ctx, entry, w)
	}
	if size := len(w.tail) + len(w.source); t.admits(ctx, traceID, len(entry.pending), size) {
		entry.pending = append(entry.pending, w)
		t.grow(entry, size)
	}
	return nil
}

// admits reports whether a trace holding `held` items of a kind takes one more of `size` bytes
// within the per-trace and byte bounds; what a bound refuses is counted by its reason.
func (t *traceContexts) admits(ctx context.Context, traceID pcommon.TraceID, held, size int) bool {
	switch {
	case held >= t.limits.perTrace:
		t.counters.countDropped(ctx, droppedMaxPerTrace, 1)
		return false
	case !t.makeRoom(ctx, traceID, size):
		t.counters.countDropped(ctx, droppedMaxBytes, 1)
		return false
	}
	return true
}

// events makes a span's events, up to the trace's bound.
func (t *traceContexts) events(ctx context.Context, e *traceEntry, w waiting) []derivedEvent {
	keys := e.contextKeys
	if room := t.limits.perTrace - e.made; len(keys) > room {
		t.counters.countDropped(ctx, droppedMaxPerTrace, int64(len(keys)-max(room, 0)))
		keys = keys[:max(room, 0)]
	}
	e.made += len(keys)
	return eventsOf(w, keys, func(key []byte) []byte { return e.contextTexts[string(key)] })
}

func (t *traceContexts) grow(e *traceEntry, by int) {
	e.bytes += by
	t.bytes += by
}

func (t *traceContexts) entry(ctx context.Context, traceID pcommon.TraceID) *traceEntry {
	now := t.now()
	if e, ok := t.traces[traceID]; ok {
		if e.expires.After(now) {
			return e
		}
		// Its id leaves the eviction order in evict below: every trace ahead of it began earlier,
		// so its window is over too, and evict passes them all (no stale id evicts the new entry).
		t.forget(ctx, traceID, "")
	}
	t.evict(ctx, now, entryOverhead)
	e := &traceEntry{contextTexts: map[string][]byte{}, expires: now.Add(t.window)}
	t.traces[traceID] = e
	t.order = append(t.order, traceID)
	t.grow(e, entryOverhead)
	return e
}

// makeRoom forgets the oldest other traces until size more bytes fit; false if they cannot.
func (t *traceContexts) makeRoom(ctx context.Context, keep pcommon.TraceID, size int) bool {
	if t.bytes+size <= t.limits.bytes {
		return true
	}
	// Too large even alone: forget nothing else for it.
	if e, ok := t.traces[keep]; ok && e.bytes+size > t.limits.bytes {
		return false
	}
	i := 0
	for ; i < len(t.order) && t.bytes+size > t.limits.bytes; i++ {
		if id := t.order[i]; id != keep {
			t.forget(ctx, id, droppedMaxBytes)
		}
	}
	// The kept trace, if passed over, goes back in front of the rest.
	rest := t.order[i:]
	if _, ok := t.traces[keep]; ok && !slices.Contains(rest, keep) {
		rest = append([]pcommon.TraceID{keep}, rest...)
	}
	t.order = append(t.order[:0], rest...)
	return t.bytes+size <= t.limits.bytes
}

// evict forgets expired traces (the oldest first), then the oldest beyond the bounds.
func (t *traceContexts) evict(ctx context.Context, now time.Time, adding int) {
	i := 0
	for ; i < len(t.order); i++ {
		id := t.order[i]
		e, ok := t.traces[id]
		if ok && e.expires.After(now) && len(t.traces) < t.limits.traces && t.bytes+adding <= t.limits.bytes {
			break
		}
		if ok {
			reason := ""
			if e.expires.After(now) && len(t.traces) < t.limits.traces {
				reason = droppedMaxBytes
			}
			t.forget(ctx, id, reason)
		}
	}
	if i > 0 {
		t.order = append(t.order[:0], t.order[i:]...)
	}
}

// forget drops a trace: its waiting spans count as unattributed (reason ""), or as dropped by
// the bound that forced it out.
func (t *traceContexts) forget(ctx context.Context, id pcommon.TraceID, reason string) {
	e, ok := t.traces[id]
	if !ok {
		return
	}
	if reason == "" {
		t.counters.countUnattributed(ctx, int64(len(e.pending)))
	} else {
		t.counters.countDropped(ctx, reason, int64(len(e.pending)))
	}
	t.bytes -= e.bytes
	delete(t.traces, id)
}
