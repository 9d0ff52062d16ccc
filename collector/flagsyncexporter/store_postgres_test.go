// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The shared store against a real PostgreSQL server: scripts/test-go.sh starts one
// (scripts/postgres.sh) and sets FLAGSYNC_TEST_POSTGRES_DSN. Each test works in a schema of its
// own (search_path), as a fleet works in one database.

// postgresDSN gives a DSN whose tables live in a new schema, dropped after the test.
func postgresDSN(t *testing.T) string {
	dsn := os.Getenv("FLAGSYNC_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("FLAGSYNC_TEST_POSTGRES_DSN is not set (scripts/test-go.sh starts a server and sets it)")
	}
	random := make([]byte, 6)
	_, _ = rand.Read(random)
	schema := "test_" + hex.EncodeToString(random)
	admin(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs statements on their own connection (a test's view from outside the exporter).
func admin(t *testing.T, dsn, sql string, args ...any) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
	return tag.RowsAffected()
}

func postgresConfig(dsn string) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.SDKKey = testKey
	cfg.DeliveryStore.Postgres.DSN = configopaque.String(dsn)
	return cfg
}

func newTestPostgresStore(t *testing.T, dsn string) *postgresStore {
	s, err := newPostgresStore(context.Background(), postgresConfig(dsn))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.close(context.Background()) })
	return s
}

func keysOf(n ...byte) []itemKey {
	out := make([]itemKey, len(n))
	for i, b := range n {
		out[i] = itemKey{0: b, 15: 1}
	}
	return out
}

func TestPostgresClaimConfirmReleaseAcrossGateways(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	a, b := newTestPostgresStore(t, dsn), newTestPostgresStore(t, dsn)
	keys := keysOf(1, 2, 3)

	states, err := a.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimed, claimed, claimed}, states)
	states, err = b.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{heldElsewhere, heldElsewhere, heldElsewhere}, states, "never two copies in flight")

	// FlagSync took 1; answered 503 for 2 (not stored); no answer for 3 (may have stored it).
	require.NoError(t, a.confirm(ctx, keys[:1]))
	require.NoError(t, a.release(ctx, keys[1:2], true))
	require.NoError(t, a.release(ctx, keys[2:], false))
	states, err = b.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{alreadyDelivered, claimed, claimedAgain}, states)
	require.NoError(t, b.confirm(ctx, keys[1:]))
	states, err = a.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{alreadyDelivered, alreadyDelivered, alreadyDelivered}, states)
}

// A claim that outlives its holder (a gateway killed mid-request) expires; the next gateway sends
// the item again, counted as possibly arriving twice.
func TestPostgresExpiredClaimIsTakenOver(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	dead, alive := newTestPostgresStore(t, dsn), newTestPostgresStore(t, dsn)
	keys := keysOf(7)
	_, err := dead.claim(ctx, keys)
	require.NoError(t, err)
	states, err := alive.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{heldElsewhere}, states)
	// claim_timeout passes.
	assert.Equal(t, int64(1), admin(t, dsn, "UPDATE flagsync_delivery SET claim_expires = now() - interval '1 second'"))
	states, err = alive.claim(ctx, keys)
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimedAgain}, states)
}

// Many senders claiming the same items at once: each item is claimed exactly once.
func TestPostgresConcurrentClaimsAreExclusive(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	stores := []*postgresStore{newTestPostgresStore(t, dsn), newTestPostgresStore(t, dsn), newTestPostgresStore(t, dsn)}
	keys := make([]itemKey, 200)
	for i := range keys {
		keys[i] = itemKey{0: byte(i), 1: byte(i >> 8), 15: 2}
	}
	var mu sync.Mutex
	claimedBy := map[itemKey]int{}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			states, err := stores[i%len(stores)].claim(ctx, keys)
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			for j, state := range states {
				if state == claimed || state == claimedAgain {
					claimedBy[keys[j]]++
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, claimedBy, len(keys))
	for key, n := range claimedBy {
		assert.Equal(t, 1, n, "claimed once: %x", key)
	}
}

// Gateways starting at once all create the tables (or find them) without an error.
func TestPostgresTablesAreCreatedOnceByGatewaysStartingAtOnce(t *testing.T) {
	dsn := postgresDSN(t)
	var wg sync.WaitGroup
	for range 4 {
		s := newTestPostgresStore(t, dsn)
		wg.Go(func() { assert.NoError(t, s.ready(context.Background())) })
	}
	wg.Wait()
	assert.Equal(t, int64(0), admin(t, dsn, "DELETE FROM flagsync_delivery"))
}

// Records past delivery_memory are purged, in bounded batches.
func TestPostgresSweepPurgesExpiredRecordsInBatches(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	s := newTestPostgresStore(t, dsn)
	require.NoError(t, s.ready(ctx))
	admin(t, dsn, `INSERT INTO flagsync_delivery (key, delivered, claim_expires, forget_at)
SELECT int8send(i), true, now(), now() - interval '1 hour' FROM generate_series(1, $1::bigint) AS i`, 2*purgeBatch+10)
	_, err := s.claim(ctx, keysOf(9))
	require.NoError(t, err)
	require.NoError(t, s.sweep(ctx))
	assert.Equal(t, int64(1), admin(t, dsn, "DELETE FROM flagsync_delivery"), "only the live claim is left")
}

// The DSN's password is in no error, whatever fails.
func TestPostgresErrorsNeverQuoteThePassword(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), "wrong-PASSWORD-secret")
	wrong := newTestPostgresStore(t, u.String())
	_, err = wrong.claim(context.Background(), keysOf(1))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-PASSWORD-secret")
	assert.Contains(t, err.Error(), "PostgreSQL store")

	u.Host = "127.0.0.1:1"
	unreachable := newTestPostgresStore(t, u.String())
	_, err = unreachable.claim(context.Background(), keysOf(1))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-PASSWORD-secret")
}

func sharedStoreConfig(dsn string) func(*Config) {
	return func(c *Config) { c.DeliveryStore.Postgres.DSN = configopaque.String(dsn) }
}

// Two gateways share the store: the request re-sent to the second one (an agent's replay, an
// app's retry) is skipped there; FlagSync receives each item once.
func TestTwoGatewaysSharingTheStoreDeliverEachItemOnce(t *testing.T) {
	dsn := postgresDSN(t)
	fs := newFakeFlagSync(t)
	gw1 := newNamedHarness(t, "gw1", fs.URL, sharedStoreConfig(dsn))
	gw2 := newNamedHarness(t, "gw2", fs.URL, sharedStoreConfig(dsn))
	require.NoError(t, gw1.pushTraces(request("u1", "u2", "u3")))
	require.NoError(t, gw2.pushTraces(request("u1", "u2", "u3")))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1", "u2", "u3"}, fs.keys("events"))
	assert.Equal(t, int64(6), gw2.counter(t, "otelcol_exporter_flagsync_duplicates_skipped"))
	assert.Equal(t, int64(0), gw2.counter(t, "otelcol_exporter_flagsync_delivered"))

	// Re-batched differently (u2's span alone, with a new call u4): only u4 is new.
	rebatched := request("u1", "u2", "u3")
	spans := rebatched.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.RemoveIf(func(s ptrace.Span) bool { return s.SpanID() != pcommon.SpanID{7: 2} })
	requestFromSpan(9, "u4").ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(spans.AppendEmpty())
	require.NoError(t, gw2.pushTraces(rebatched))
	assert.Equal(t, []string{"u1", "u2", "u3", "u4"}, fs.keys("impressions"))
}

// While one gateway's request is in flight, another gateway sent the same items leaves them for
// a retry instead of sending a second copy; the retry skips what the first delivered.
func TestItemsInFlightOnAnotherGatewayWait(t *testing.T) {
	dsn := postgresDSN(t)
	fs := newFakeFlagSync(t)
	gw1 := newNamedHarness(t, "gw1", fs.URL, sharedStoreConfig(dsn))
	gw2 := newNamedHarness(t, "gw2", fs.URL, sharedStoreConfig(dsn))
	arrived, release := make(chan struct{}), make(chan struct{})
	fs.then(func(w http.ResponseWriter) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	done := make(chan error)
	go func() { done <- gw1.pushTraces(request("u1")) }()
	<-arrived
	err := gw2.pushTraces(request("u1"))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "another gateway")
	assert.Equal(t, 1, gw2.last.ItemsCount(), "the impression waits; the event went")
	close(release)
	require.Error(t, <-done, "FlagSync answered 503 to the first gateway")
	// The second gateway's retry takes the impression the first one gave back.
	require.NoError(t, gw2.retry())
	require.NoError(t, gw1.retry())
	assert.Equal(t, []string{"u1"}, fs.keys("impressions"))
	assert.Equal(t, []string{"u1"}, fs.keys("events"))
}

// A gateway restarted (or another one, after a routing change) carries on with the traces the
// first one began: the span that waited for its trace's evaluation becomes an event there.
func TestTraceMemorySurvivesARestart(t *testing.T) {
	dsn := postgresDSN(t)
	fs := newFakeFlagSync(t)
	configure := func(c *Config) { derivedConfig(c); sharedStoreConfig(dsn)(c) }
	first := newNamedHarness(t, "first", fs.URL, configure)
	require.NoError(t, first.pushTraces(serverSpanRequest(2, "")))
	require.NoError(t, first.exp.shutdown(context.Background()))
	assert.Equal(t, int64(0), first.counter(t, "otelcol_exporter_flagsync_unattributed"), "kept in the store, not given up")

	second := newNamedHarness(t, "second", fs.URL, configure)
	late := request("u2")
	late.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(serverSpanRequest(2, "").ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
	require.NoError(t, second.pushTraces(late))
	assert.Equal(t, []string{"u2", "u2"}, fs.keys("events"), "the track event and the derived one")
	assert.Contains(t, fs.bodies[len(fs.bodies)-1], `{"context":{"key":"u2"},"eventKey":"latency_ms","value":250,"timestamp":"2026-11-18T11:06:40.250Z"}`)
	assert.Equal(t, int64(1), second.counter(t, "otelcol_exporter_flagsync_derived"))

	// The same request again: nothing new.
	require.NoError(t, second.pushTraces(late))
	assert.Equal(t, []string{"u2", "u2"}, fs.keys("events"))
}

// The evaluation reaches one gateway, the server span another: the event is made once.
func TestDerivedEventAcrossGateways(t *testing.T) {
	dsn := postgresDSN(t)
	fs := newFakeFlagSync(t)
	configure := func(c *Config) { derivedConfig(c); sharedStoreConfig(dsn)(c) }
	gw1 := newNamedHarness(t, "gw1", fs.URL, configure)
	gw2 := newNamedHarness(t, "gw2", fs.URL, configure)
	evaluation := request("u5")
	evaluation.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(serverSpanRequest(5, "").ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
	require.NoError(t, gw1.pushTraces(evaluation))
	require.NoError(t, gw2.pushTraces(serverSpanRequest(5, "")))
	require.NoError(t, gw1.pushTraces(serverSpanRequest(5, "")))
	assert.Equal(t, []string{"u5", "u5"}, fs.keys("events"))
	assert.Equal(t, int64(1), gw2.counter(t, "otelcol_exporter_flagsync_derived"))
}

// Spans that waited past the window are purged by the sweep and counted as unattributed; a trace
// gives at most derived_events_max_per_trace events, the rest counted.
func TestPostgresTraceMemoryCountsWhatItGivesUp(t *testing.T) {
	dsn := postgresDSN(t)
	fs := newFakeFlagSync(t)
	h := newNamedHarness(t, "gw", fs.URL, func(c *Config) {
		derivedConfig(c)
		sharedStoreConfig(dsn)(c)
		c.DerivedEventsMaxPerTrace = 2
	})
	require.NoError(t, h.pushTraces(serverSpanRequest(6, "")))
	admin(t, dsn, "UPDATE flagsync_trace_waiting SET expires_at = now() - interval '1 second'")
	require.NoError(t, h.exp.conversion.derived.traces.sweep(context.Background()))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_unattributed"))

	// Three users evaluated in trace 7, then its server span: two events, one dropped.
	td := serverSpanRequest(7, "a")
	for _, user := range []string{"b", "c"} {
		more := request(user).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		more.SetTraceID(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
		more.CopyTo(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty())
	}
	require.NoError(t, h.pushTraces(td))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_flagsync_derived"))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_derived_dropped"))
}

// A trace memory that cannot reach the store refuses the request (the sender keeps it).
func TestUnreachableTraceMemoryRefusesTheRequest(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = "127.0.0.1:1"
	h := newNamedHarness(t, "gw", "http://127.0.0.1:1", func(c *Config) { derivedConfig(c); sharedStoreConfig(u.String())(c) })
	_, err = h.exp.conversion.convertTraces(context.Background(), serverSpanRequest(8, "u8"))
	require.Error(t, err)
	assert.Len(t, h.logs.FilterMessageSnippet("the trace memory failed").All(), 1)
}

// Claims of concurrent requests go in one statement: a key two requests hold at once goes to the
// first; a key delivered is delivered for both.
func TestPostgresGroupedClaimsGiveARepeatedKeyOnce(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	s := newTestPostgresStore(t, dsn)
	keys := keysOf(1, 2)
	_, err := s.claim(ctx, keys[1:])
	require.NoError(t, err)
	require.NoError(t, s.confirm(ctx, keys[1:]))
	states, err := s.claimNow(ctx, []itemKey{keys[0], keys[1], keys[0], keys[1]})
	require.NoError(t, err)
	assert.Equal(t, []claimState{claimed, alreadyDelivered, heldElsewhere, alreadyDelivered}, states)
}
