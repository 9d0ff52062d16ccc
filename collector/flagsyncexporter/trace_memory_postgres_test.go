// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	// The trace's events are made: another span's are counted, not made.
	events, err = traces.apply(ctx, nil, spansFor(id, "s2"))
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 3 + 3}, counts.dropped)
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
		{notes: notesFor(pcommon.TraceID{15: 2}, "cy"), spans: spansFor(pcommon.TraceID{15: 2}, "s4")},
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
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 2 + 1 + 1 + 1 + 2}, sharedCounts.dropped,
		"adam, bea; ben; s3's second event; cy, and s4's events (trace 2's are made)")
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
	traces, counts := newTestPostgresTraces(t, dsn, 2)
	id, full := pcommon.TraceID{15: 6}, pcommon.TraceID{15: 16}
	// The older version's rows: trace 6 evaluated for u1; trace 16 for three users, its events made.
	admin(t, dsn, `INSERT INTO flagsync_traces (trace, expires_at, made) VALUES ($1, now() + interval '1 minute', 0),
  ($2, now() + interval '1 minute', 2)`, traces.traceKey(id), traces.traceKey(full))
	admin(t, dsn, `INSERT INTO flagsync_trace_contexts SELECT trace, convert_to(u, 'UTF8'), convert_to('{"key":"' || u || '"}', 'UTF8'), expires_at
FROM flagsync_traces, unnest(CASE WHEN made = 0 THEN ARRAY['u1'] ELSE ARRAY['v1', 'v2', 'v3'] END) AS u`)

	events, err := traces.apply(ctx, notesFor(id, "u2", "u3"), spansFor(id, "s1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"u1", "u2"}, usersOf(t, events))
	events, err = traces.apply(ctx, nil, spansFor(full, "s1"))
	require.NoError(t, err)
	assert.Empty(t, events)
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 2}, counts.dropped, "trace 16's two contexts (within the bound) for s1")
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

// A trace evaluated for 20,000 users (the crowded trace), then requests each adding an
// evaluation and a matching span to it: what one such request costs, and the rows the trace keeps.
//
//	FLAGSYNC_TEST_POSTGRES_DSN=$(bash scripts/postgres.sh start DIR) go test -run '^$' -bench PostgresTraceMemoryCrowdedTrace
func BenchmarkPostgresTraceMemoryCrowdedTrace(b *testing.B) {
	dsn := os.Getenv("FLAGSYNC_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("FLAGSYNC_TEST_POSTGRES_DSN is not set (scripts/postgres.sh start prints one)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(b, err)
	defer conn.Close(ctx)
	// A schema of its own (as postgresDSN gives tests).
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS bench_crowded CASCADE; CREATE SCHEMA bench_crowded")
	require.NoError(b, err)
	defer func() { _, _ = conn.Exec(ctx, "DROP SCHEMA bench_crowded CASCADE") }()
	u, err := url.Parse(dsn)
	require.NoError(b, err)
	q := u.Query()
	q.Set("search_path", "bench_crowded")
	u.RawQuery = q.Encode()
	store, err := newPostgresStore(ctx, postgresConfig(u.String()))
	require.NoError(b, err)
	defer func() { _ = store.close(ctx) }()
	traces := &postgresTraces{store: store, scope: []byte("scope"), window: time.Hour, perTrace: 1000}

	id := pcommon.TraceID{15: 8}
	users := make([]string, 20_000)
	for i := range users {
		users[i] = fmt.Sprintf("user-%05d", i)
	}
	_, err = traces.apply(ctx, notesFor(id, users...), nil)
	require.NoError(b, err)
	for i := 0; b.Loop(); i++ {
		_, err = traces.apply(ctx, notesFor(id, fmt.Sprintf("more-%d", i)), spansFor(id, fmt.Sprintf("span-%d", i)))
		require.NoError(b, err)
	}
	var rows int64
	require.NoError(b, conn.QueryRow(ctx, "SELECT count(*) FROM bench_crowded.flagsync_trace_contexts").Scan(&rows))
	b.ReportMetric(float64(rows), "rows")
}
