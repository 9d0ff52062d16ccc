// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A trace begun again after its window keeps no trace of its first life in the eviction order:
// the bound evicts it in its new place, after the traces begun before it.
func TestTraceBegunAgainIsEvictedInItsNewPlace(t *testing.T) {
	now := time.Unix(0, 0)
	limits := testTraceLimits(100)
	limits.traces = 2
	traces := newTraceContexts(10*time.Second, limits)
	traces.now = func() time.Time { return now }
	counts := &droppedCounts{}
	traces.counters = counts.counters()
	ctx := context.Background()
	span := waiting{tail: []byte("}"), source: []byte("s")}
	a, b, c := pcommon.TraceID{1: 1}, pcommon.TraceID{1: 2}, pcommon.TraceID{1: 3}

	traces.attribute(ctx, a, span)
	now = now.Add(5 * time.Second)
	traces.attribute(ctx, b, span)
	now = now.Add(6 * time.Second) // a's window is over, b's is not
	traces.attribute(ctx, a, span)
	assert.Equal(t, int64(1), counts.unattributed, "a's first span waited in vain")
	assert.Equal(t, []pcommon.TraceID{b, a}, traces.order)

	// The bound of two traces: c makes room by evicting b, the oldest, not a.
	traces.attribute(ctx, c, span)
	assert.Equal(t, int64(2), counts.unattributed)
	assert.Contains(t, traces.traces, a)
	assert.NotContains(t, traces.traces, b)
	assert.Equal(t, []pcommon.TraceID{a, c}, traces.order)
}

// Whatever happens to traces (windows ending, bounds in traces and bytes, traces begun again),
// the eviction order holds each trace in memory once, oldest first, and nothing else: an id left
// behind would later evict the trace that took its place, before older ones.
func TestTraceEvictionOrderHoldsEachTraceOnceOldestFirst(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 1))
		now := time.Unix(0, 0)
		limits := traceLimits{traces: 1 + r.IntN(5), bytes: entryOverhead*(1+r.IntN(6)) + r.IntN(300), perTrace: 1 + r.IntN(4)}
		traces := newTraceContexts(10*time.Second, limits)
		traces.now = func() time.Time { return now }
		for step := range 150 {
			now = now.Add(time.Duration(r.IntN(2)*r.IntN(12_000)) * time.Millisecond)
			id := pcommon.TraceID{1: "0123456789"[r.IntN(10)]}
			if r.IntN(2) == 0 {
				traces.note(ctx, id, []byte{"01234"[r.IntN(5)]}, make([]byte, r.IntN(60)))
			} else {
				traces.attribute(ctx, id, waiting{tail: make([]byte, r.IntN(60)), source: []byte{"01234"[r.IntN(5)]}})
			}
			require.Len(t, traces.order, len(traces.traces), "seed %d, step %d", seed, step)
			for i, id := range traces.order {
				require.Contains(t, traces.traces, id, "seed %d, step %d", seed, step)
				if i > 0 {
					require.False(t, traces.traces[id].expires.Before(traces.traces[traces.order[i-1]].expires), "seed %d, step %d", seed, step)
				}
			}
		}
	}
}
