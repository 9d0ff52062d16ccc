// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchTraces is a request as the instrumentation writes it: spans with 1-3 flag evaluations and
// now and then a track event, each for its own user (so no two contexts are the same text).
func benchTraces(spans int) (ptrace.Traces, int) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	events := 0
	for i := 0; i < spans; i++ {
		span := ss.Spans().AppendEmpty()
		span.SetName("GET /checkout")
		user := fmt.Sprintf(`{"key":"user-%d","attributes":{"plan":"pro","country":"DE"}}`, i)
		for f, value := range []string{`"Join Now"`, `true`, `1.5`}[:1+i%3] {
			ev := span.Events().AppendEmpty()
			ev.SetName("feature_flag.evaluation")
			ev.SetTimestamp(pcommon.Timestamp(1795000000123456789 + uint64(i)))
			a := ev.Attributes()
			a.PutInt("flagsync.size", 0) // first, as written; set once the rest is in
			a.PutStr("feature_flag.key", fmt.Sprintf("flag-%d", f))
			a.PutStr("feature_flag.provider.name", "FlagSync")
			a.PutStr("feature_flag.context.id", fmt.Sprintf("user-%d", i))
			a.PutStr("feature_flag.result.reason", "targeting_match")
			a.PutStr("flagsync.value", value)
			a.PutStr("flagsync.context", user)
			a.PutInt("flagsync.size", int64(payloadSize(spanEventAttributes(a))))
			events++
		}
		if i%4 == 0 {
			ev := span.Events().AppendEmpty()
			ev.SetName("flagsync.track")
			ev.SetTimestamp(pcommon.Timestamp(1795000000123456789 + uint64(i)))
			a := ev.Attributes()
			a.PutInt("flagsync.size", 0)
			a.PutStr("flagsync.event.key", "purchase_event")
			a.PutStr("flagsync.context", user)
			a.PutStr("flagsync.event.value", "42.5")
			a.PutStr("flagsync.event.properties", `{"currency":"USD"}`)
			a.PutInt("flagsync.size", int64(payloadSize(spanEventAttributes(a))))
			events++
		}
	}
	return td, events
}

// BenchmarkConvertSpanEvents is the component's conversion alone, as pushTraces runs it: find the
// candidate events, convert each to its FlagSync JSON. npm run bench reports events/s per core.
func BenchmarkConvertSpanEvents(b *testing.B) {
	td, events := benchTraces(512)
	c := newConverter(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		converted := 0
		forEachSpan(td, func(span ptrace.Span, _ string) {
			spanEvents := span.Events()
			for i := 0; i < spanEvents.Len(); i++ {
				event := spanEvents.At(i)
				if !isCandidate(event.Name()) {
					continue
				}
				o := c.convert(event.Name(), uint64(event.Timestamp()), spanEventAttributes(event.Attributes()))
				if o.kind == outcomeImpression || o.kind == outcomeEvent {
					converted++
				}
			}
		})
		if converted != events {
			b.Fatalf("converted %d of %d", converted, events)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
