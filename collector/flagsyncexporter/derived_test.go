// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// serverSpanRequest is a request holding one HTTP server span of trace n (and, with user, the
// handler span below it evaluating a flag for that user).
func serverSpanRequest(n byte, user string) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("@opentelemetry/instrumentation-http")
	server := ss.Spans().AppendEmpty()
	server.SetName("GET /checkout")
	server.SetKind(ptrace.SpanKindServer)
	server.SetTraceID(pcommon.TraceID{15: n})
	server.SetSpanID(pcommon.SpanID{7: 1})
	server.SetStartTimestamp(1_795_000_000_000_000_000)
	server.SetEndTimestamp(1_795_000_000_250_000_000)
	if user != "" {
		handler := request(user).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		handler.SetTraceID(pcommon.TraceID{15: n})
		handler.SetSpanID(pcommon.SpanID{7: 2})
		handler.CopyTo(ss.Spans().AppendEmpty())
	}
	return td
}

// testTraceLimits bounds a trace memory by perTrace only (traces and bytes: far off).
func testTraceLimits(perTrace int) traceLimits {
	return traceLimits{traces: 100_000, bytes: 64 << 20, perTrace: perTrace}
}

func derivedConfig(c *Config) {
	c.DerivedEvents = []DerivedEventRule{{EventKey: "latency_ms", Match: RuleMatch{Kind: "server"}, Value: &RuleValue{From: "duration"}}}
}

func TestDerivedEventFromTheServerSpanAboveTheEvaluation(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, derivedConfig)
	require.NoError(t, h.pushTraces(serverSpanRequest(1, "u1")))
	assert.Equal(t, []string{"u1", "u1"}, fs.keys("events"), "the track event and the derived one")
	assert.Contains(t, fs.bodies[len(fs.bodies)-1], `{"context":{"key":"u1"},"eventKey":"latency_ms","value":250,"timestamp":"2026-11-18T11:06:40.250Z"}`)
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_derived"))
}

func TestDerivedSpanWaitsForItsTracesEvaluationInALaterRequest(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, derivedConfig)
	require.NoError(t, h.pushTraces(serverSpanRequest(2, "")))
	assert.Empty(t, fs.keys("events"))
	// The handler span of the same trace arrives later: the waiting server span is attributed then.
	late := request("u2")
	handler := late.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	handler.SetTraceID(pcommon.TraceID{15: 2})
	require.NoError(t, h.pushTraces(late))
	assert.Equal(t, []string{"u2", "u2"}, fs.keys("events"))
}

func TestDerivedChunksKeepTheirKeysOnReplay(t *testing.T) {
	h := newHarness(t, "http://127.0.0.1:1", derivedConfig)
	first, err := h.exp.conversion.convertTraces(context.Background(), serverSpanRequest(3, "u3"))
	require.NoError(t, err)
	// Another collector process (a restart): a fresh trace memory, the same request.
	again := newHarness(t, "http://127.0.0.1:1", derivedConfig)
	again.exp.conversion.derived.traces = newTraceContexts(time.Minute, testTraceLimits(100))
	second, err := again.exp.conversion.convertTraces(context.Background(), serverSpanRequest(3, "u3"))
	require.NoError(t, err)
	assert.Equal(t, itemKeysOf(first), itemKeysOf(second))
}

func TestTraceMemoryForgetsAfterTheWindowAndBeyondTheBound(t *testing.T) {
	now := time.Unix(0, 0)
	limits := testTraceLimits(100)
	limits.traces = 2
	traces := newTraceContexts(time.Second, limits)
	traces.now = func() time.Time { return now }
	var unattributed int64
	traces.counters.unattributed = func(_ context.Context, spans int64) { unattributed += spans }
	ctx := context.Background()
	traces.attribute(ctx, pcommon.TraceID{1: 1}, waiting{tail: []byte("}"), source: []byte("s")})
	now = now.Add(2 * time.Second)
	assert.Empty(t, traces.note(ctx, pcommon.TraceID{1: 1}, []byte("u"), []byte(`{"key":"u"}`)), "the waiting span expired")
	assert.Equal(t, int64(1), unattributed)
	traces.attribute(ctx, pcommon.TraceID{1: 2}, waiting{tail: []byte("}"), source: []byte("s")})
	traces.note(ctx, pcommon.TraceID{1: 3}, []byte("u"), []byte(`{"key":"u"}`))
	traces.note(ctx, pcommon.TraceID{1: 4}, []byte("u"), []byte(`{"key":"u"}`))
	assert.Equal(t, int64(2), unattributed, "the oldest trace, with its waiting span, made room")
	assert.LessOrEqual(t, len(traces.traces), 2)
}

// Calls the SDK delivers are not sent, and counted; their evaluations still tell derived events
// whose trace it is.
func TestElsewhereEventsAreCountedAndStillAttributeDerivedEvents(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, derivedConfig)
	td := serverSpanRequest(4, "u4")
	forEachSpan(td, func(span ptrace.Span, _ string) {
		for i := 0; i < span.Events().Len(); i++ {
			attrs := span.Events().At(i).Attributes()
			if size, ok := attrs.Get(attrFlagSyncSize); ok {
				attrs.PutInt(attrFlagSyncSize, size.Int()+int64(len(deliverySDK))+1)
				attrs.PutStr(attrFlagSyncDelivery, deliverySDK)
			}
		}
	})
	require.NoError(t, h.pushTraces(td))
	assert.Empty(t, fs.keys("impressions"))
	assert.Equal(t, []string{"u4"}, fs.keys("events"), "only the derived event")
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_flagsync_elsewhere"))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_derived"))
}

// A span still waiting for its trace's evaluation at shutdown is counted as unattributed.
func TestWaitingSpansAreUnattributedAtShutdown(t *testing.T) {
	fs := newFakeFlagSync(t)
	h := newHarness(t, fs.URL, derivedConfig)
	require.NoError(t, h.pushTraces(serverSpanRequest(5, "")))
	require.NoError(t, h.exp.shutdown(context.Background()))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_flagsync_unattributed"))
}

// The local trace memory is bounded in bytes: the oldest traces make room (their waiting spans
// counted as dropped by max_bytes), and what cannot fit at all is dropped and counted.
func TestTraceMemoryByteBoundDropsAndCounts(t *testing.T) {
	limits := testTraceLimits(100)
	limits.bytes = 3*entryOverhead + 200
	traces := newTraceContexts(time.Minute, limits)
	dropped := map[string]int64{}
	traces.counters.dropped = func(_ context.Context, reason string, n int64) { dropped[reason] += n }
	ctx := context.Background()
	span := waiting{tail: make([]byte, 90), source: []byte("s1")}
	traces.attribute(ctx, pcommon.TraceID{1: 1}, span)
	traces.attribute(ctx, pcommon.TraceID{1: 2}, span)
	assert.Empty(t, dropped)
	// A third waiting span does not fit beside the two: the oldest trace, and its span, go.
	traces.attribute(ctx, pcommon.TraceID{1: 3}, span)
	assert.Equal(t, map[string]int64{droppedMaxBytes: 1}, dropped)
	assert.LessOrEqual(t, traces.bytes, limits.bytes)
	// A context larger than the whole bound is not kept (and makes no room in vain).
	traces.note(ctx, pcommon.TraceID{1: 4}, []byte("u"), make([]byte, limits.bytes))
	assert.Equal(t, int64(1+1), dropped[droppedMaxBytes])
	assert.Len(t, traces.traces, 3)
	assert.LessOrEqual(t, traces.bytes, limits.bytes)
}

// One trace with many users and many spans makes at most derived_events_max_per_trace events.
func TestTraceMemoryPerTraceBoundDropsAndCounts(t *testing.T) {
	traces := newTraceContexts(time.Minute, testTraceLimits(10))
	dropped := map[string]int64{}
	traces.counters.dropped = func(_ context.Context, reason string, n int64) { dropped[reason] += n }
	ctx := context.Background()
	id := pcommon.TraceID{1: 9}
	for i := range 12 {
		traces.note(ctx, id, []byte{'u', byte(i)}, []byte(`{"key":"u"}`))
	}
	made := 0
	for i := range 5 {
		made += len(traces.attribute(ctx, id, waiting{tail: []byte("}"), source: []byte{'s', byte(i)}}))
	}
	assert.Equal(t, 10, made)
	// 2 contexts beyond the bound; then 5 spans × 10 contexts, of which 10 made.
	assert.Equal(t, map[string]int64{droppedMaxPerTrace: 2 + 40}, dropped)
}
