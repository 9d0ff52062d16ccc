// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The PostgreSQL trace memory against a real server (postgresDSN), beside the local one: the same
// requests keep the same contexts and count the same drops.

// droppedCounts is a trace memory's counters, as the metrics would count them.
type droppedCounts struct {
	dropped      map[string]int64
	unattributed int64
}

func (d *droppedCounts) counters() traceCounters {
	d.dropped = map[string]int64{}
	return traceCounters{
		unattributed: func(_ context.Context, n int64) { d.unattributed += n },
		dropped:      func(_ context.Context, reason string, n int64) { d.dropped[reason] += n },
	}
}

func newTestPostgresTraces(t *testing.T, dsn string, perTrace int) (*postgresTraces, *droppedCounts) {
	counts := &droppedCounts{}
	return &postgresTraces{store: newTestPostgresStore(t, dsn), scope: []byte("scope"), window: time.Minute, perTrace: perTrace, counters: counts.counters()}, counts
}

func newTestLocalTraces(perTrace int) (*traceContexts, *droppedCounts) {
	counts := &droppedCounts{}
	local := newTraceContexts(time.Minute, testTraceLimits(perTrace))
	local.counters = counts.counters()
	return local, counts
}

func notesFor(id pcommon.TraceID, users ...string) []traceNote {
	out := make([]traceNote, len(users))
	for i, user := range users {
		out[i] = traceNote{traceID: id, key: []byte(user), text: []byte(`{"key":"` + user + `"}`)}
	}
	return out
}

func spansFor(id pcommon.TraceID, sources ...string) []traceSpan {
	out := make([]traceSpan, len(sources))
	for i, source := range sources {
		out[i] = traceSpan{traceID: id, waiting: waiting{
			tail:   []byte(`,"eventKey":"latency_ms","value":250,"timestamp":"2026-11-18T11:06:40.250Z"}`),
			source: []byte(source),
		}}
	}
	return out
}

// usersOf gives the context key of each event, in order.
func usersOf(t *testing.T, events []derivedEvent) []string {
	out := make([]string, 0, len(events))
	for _, e := range events {
		var event struct {
			Context struct{ Key string } `json:"context"`
		}
		require.NoError(t, json.Unmarshal(e.json, &event))
		out = append(out, event.Context.Key)
	}
	return out
}

// A trace evaluated for more users than derived_events_max_per_trace keeps the first ones only:
// the rows beyond the bound are not written (nor read by later requests), and each refused
// context is counted as max_per_trace, as the local memory counts it.
func TestPostgresTraceMemoryBoundsContextsPerTrace(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	traces, counts := newTestPostgresTraces(t, dsn, 3)
	id := pcommon.TraceID{15: 1}

	_, err := traces.apply(ctx, notesFor(id, "u1", "u2", "u3", "u4", "u5"), nil)
	require.NoError(t, err)
	_, err = traces.apply(ctx, notesFor(id, "u6", "u2"), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(3), admin(t, dsn, "SELECT 1 FROM flagsync_trace_contexts"))
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 2 + 1}, counts.dropped, "u4, u5, then u6; u2 is held")

	events, err := traces.apply(ctx, nil, spansFor(id, "s1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2", "u3"}, usersOf(t, events))
}

// At the bound, the contexts kept are the first seen, whatever their keys' order: a fleet attributes
// the users a single collector would.
func TestPostgresTraceMemoryKeepsTheFirstContextsSeen(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	requests := []struct {
		notes []traceNote
		spans []traceSpan
	}{
		{notes: notesFor(pcommon.TraceID{15: 2}, "zoe")},
		{notes: notesFor(pcommon.TraceID{15: 2}, "mia", "adam", "bea")},
		{notes: notesFor(pcommon.TraceID{15: 3}, "yan"), spans: spansFor(pcommon.TraceID{15: 3}, "s1")},
		{notes: notesFor(pcommon.TraceID{15: 3}, "ann", "ben")},
		{spans: spansFor(pcommon.TraceID{15: 2}, "s2")},
		{spans: spansFor(pcommon.TraceID{15: 3}, "s3")},
	}
	shared, sharedCounts := newTestPostgresTraces(t, dsn, 2)
	local, localCounts := newTestLocalTraces(2)
	var fromShared, fromLocal []string
	for _, r := range requests {
		events, err := shared.apply(ctx, r.notes, r.spans)
		require.NoError(t, err)
		fromShared = append(fromShared, usersOf(t, events)...)
		events, err = local.apply(ctx, r.notes, r.spans)
		require.NoError(t, err)
		fromLocal = append(fromLocal, usersOf(t, events)...)
	}
	assert.Equal(t, []string{"yan", "zoe", "mia", "yan"}, fromShared)
	assert.Equal(t, fromLocal, fromShared)
	assert.Equal(t, localCounts.dropped, sharedCounts.dropped)
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 2 + 1 + 1}, sharedCounts.dropped, "adam, bea; ben; s3's second event")
}

// Matching spans waiting for their trace's first evaluation are bounded per trace as well.
func TestPostgresTraceMemoryBoundsWaitingSpansPerTrace(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	traces, counts := newTestPostgresTraces(t, dsn, 2)
	id := pcommon.TraceID{15: 4}
	_, err := traces.apply(ctx, nil, spansFor(id, "s1", "s2", "s3"))
	require.NoError(t, err)
	_, err = traces.apply(ctx, nil, spansFor(id, "s4", "s1"))
	require.NoError(t, err)
	assert.Equal(t, int64(2), admin(t, dsn, "SELECT 1 FROM flagsync_trace_waiting"))
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 1 + 1}, counts.dropped, "s3, then s4; s1 is waiting")

	events, err := traces.apply(ctx, notesFor(id, "u1"), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u1"}, usersOf(t, events))
	assert.Equal(t, int64(0), admin(t, dsn, "SELECT 1 FROM flagsync_trace_waiting"))
	// Taken, the waiting spans make room again: a span of the trace now becomes an event at once.
	events, err = traces.apply(ctx, nil, spansFor(id, "s5"))
	require.NoError(t, err)
	assert.Empty(t, events, "the trace's two events are made")
}

// A trace past its window starts afresh, its bound with it.
func TestPostgresTraceMemoryBoundStartsAfreshWithTheWindow(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	traces, counts := newTestPostgresTraces(t, dsn, 1)
	id := pcommon.TraceID{15: 5}
	_, err := traces.apply(ctx, notesFor(id, "u1", "u2"), nil)
	require.NoError(t, err)
	admin(t, dsn, "UPDATE flagsync_traces SET expires_at = now() - interval '1 second'")
	events, err := traces.apply(ctx, notesFor(id, "u2"), spansFor(id, "s1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"u2"}, usersOf(t, events))
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 1}, counts.dropped, "u2, the first time")
}

// Tables an older version created (without the bound's columns) are brought up to date, and the
// traces they hold carry on.
func TestPostgresTraceMemoryUpgradesAnOlderVersionsTables(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	admin(t, dsn, `CREATE TABLE flagsync_traces (trace bytea PRIMARY KEY, expires_at timestamptz NOT NULL, made integer NOT NULL DEFAULT 0);
CREATE TABLE flagsync_trace_contexts (trace bytea NOT NULL, context_key bytea NOT NULL, context_text bytea NOT NULL,
  expires_at timestamptz NOT NULL, PRIMARY KEY (trace, context_key));
CREATE TABLE flagsync_trace_waiting (trace bytea NOT NULL, source bytea NOT NULL, tail bytea NOT NULL,
  expires_at timestamptz NOT NULL, PRIMARY KEY (trace, source))`)
	traces, _ := newTestPostgresTraces(t, dsn, 2)
	id := pcommon.TraceID{15: 6}
	// The older version's rows: trace 6 evaluated for u1.
	key := traces.traceKey(id)
	admin(t, dsn, `INSERT INTO flagsync_traces (trace, expires_at) VALUES ($1, now() + interval '1 minute')`, key)
	admin(t, dsn, `INSERT INTO flagsync_trace_contexts SELECT trace, 'u1', '{"key":"u1"}', expires_at FROM flagsync_traces`)

	events, err := traces.apply(ctx, notesFor(id, "u2", "u3"), spansFor(id, "s1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2"}, usersOf(t, events))
}

// Gateways adding contexts to one trace at once keep the bound between them: each request locks
// the trace's row, so the count of contexts it reads is the other gateways' too.
func TestPostgresTraceMemoryBoundHoldsAcrossConcurrentGateways(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	id := pcommon.TraceID{15: 7}
	const gateways, users, perTrace = 4, 10, 5
	var wg sync.WaitGroup
	counts := make([]*droppedCounts, gateways)
	errs := make([]error, gateways)
	for g := range gateways {
		var traces *postgresTraces
		traces, counts[g] = newTestPostgresTraces(t, dsn, perTrace)
		wg.Go(func() {
			for u := range users {
				if _, err := traces.apply(ctx, notesFor(id, fmt.Sprintf("g%d-u%d", g, u)), nil); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	var dropped int64
	for g := range gateways {
		require.NoError(t, errs[g])
		dropped += counts[g].dropped[droppedMaxPerTrace]
	}
	assert.Equal(t, int64(perTrace), admin(t, dsn, "SELECT 1 FROM flagsync_trace_contexts"))
	assert.Equal(t, int64(gateways*users-perTrace), dropped)
	assert.Equal(t, int64(1), admin(t, dsn, "SELECT 1 FROM flagsync_traces WHERE contexts = $1", perTrace))
}
