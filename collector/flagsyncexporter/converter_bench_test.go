// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/flagsync-otel/flagsync-otel/collector/flagsyncexporter/internal/metadata"
)

// benchTraces is a request as the instrumentation writes it: spans with 1-3 flag evaluations and
// now and then a track event, each for its own user (so no two contexts are the same text).
func benchTraces(spans int) (ptrace.Traces, int) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("@opentelemetry/instrumentation-http")
	events := 0
	for i := range spans {
		span := ss.Spans().AppendEmpty()
		// A request's spans: a server span, then client and internal ones, each trace 4 spans.
		span.SetName([]string{"GET /checkout", "GET /inventory", "SELECT orders", "render"}[i%4])
		span.SetKind([]ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient, ptrace.SpanKindClient, ptrace.SpanKindInternal}[i%4])
		span.SetTraceID(pcommon.TraceID{0: byte(i / 4), 1: byte(i / 1024), 15: 1})
		span.SetSpanID(pcommon.SpanID{0: byte(i), 1: byte(i >> 8), 7: 1})
		span.SetStartTimestamp(1795000000000000000)
		span.SetEndTimestamp(pcommon.Timestamp(1795000000000000000 + uint64(i)*1000003))
		span.Attributes().PutStr("url.path", "/checkout")
		span.Attributes().PutInt("http.response.status_code", int64([]int{200, 200, 503, 404}[i%4]))
		span.Attributes().PutStr("server.address", "inventory.internal")
		// One user per trace, as one request serves one user.
		user := fmt.Sprintf(`{"key":"user-%d","attributes":{"plan":"pro","country":"DE"}}`, i/4)
		for f, value := range []string{`"Join Now"`, `true`, `1.5`}[:1+i%3] {
			ev := span.Events().AppendEmpty()
			ev.SetName("feature_flag.evaluation")
			ev.SetTimestamp(pcommon.Timestamp(1795000000123456789 + uint64(i)))
			a := ev.Attributes()
			a.PutInt("flagsync.size", 0) // first, as written; set once the rest is in
			a.PutStr("feature_flag.key", fmt.Sprintf("flag-%d", f))
			a.PutStr("feature_flag.provider.name", "FlagSync")
			a.PutStr("feature_flag.context.id", fmt.Sprintf("user-%d", i/4))
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

// tenRules are rules as a team might configure them: route latencies, error rates, a client call,
// a database span; on the traffic above about a quarter of the spans match one.
func tenRules() []DerivedEventRule {
	name := func(n string) *string { return &n }
	rules := []DerivedEventRule{
		{EventKey: "checkout_latency_ms", Match: RuleMatch{Kind: "server", SpanName: name("GET /checkout")}, Value: &RuleValue{From: "duration"}, Properties: []string{"http.response.status_code"}},
		{EventKey: "checkout_error", Match: RuleMatch{Kind: "server", SpanName: name("GET /checkout")}, Value: &RuleValue{From: "flag", When: &RuleWhen{Attribute: &AttributeCondition{Key: "http.response.status_code", In: []any{500, 502, 503}}}}},
		{EventKey: "inventory_latency_ms", Match: RuleMatch{Kind: "client", Attributes: []AttributeCondition{{Key: "server.address", Regex: `^inventory\.`}}}, Value: &RuleValue{From: "duration"}},
		{EventKey: "db_time_ms", Match: RuleMatch{SpanNameRegex: "^SELECT "}, Value: &RuleValue{From: "duration"}},
	}
	for _, route := range []string{"/cart", "/search", "/account", "/pay", "/register", "/login"} {
		rules = append(rules, DerivedEventRule{EventKey: "latency" + route, Match: RuleMatch{Kind: "server", SpanName: name("GET " + route)}, Value: &RuleValue{From: "duration"}})
	}
	return rules
}

// BenchmarkRulesOverhead converts the same request without rules and with ten rules that match
// no span, alternately in every iteration (so the machine's drift hits both alike), and reports
// what the rules add to the component's per-span cost: the price every span pays for rules.
func BenchmarkRulesOverhead(b *testing.B) {
	td, _ := benchTraces(512)
	plain := benchExporter(b, nil)
	ruled := benchExporter(b, tenRulesMatchingNothing())
	var without, with time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		t0 := time.Now()
		if _, err := plain.conversion.convertTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := ruled.conversion.convertTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
		without += t1.Sub(t0)
		with += time.Since(t1)
	}
	spans := float64(td.SpanCount()) * float64(b.N)
	b.ReportMetric(float64(without.Nanoseconds())/spans, "ns/span-no-rules")
	b.ReportMetric(float64(with.Nanoseconds())/spans, "ns/span-ten-rules")
	b.ReportMetric(100*(float64(with)/float64(without)-1), "%overhead")
}

func benchExporter(b *testing.B, rules []DerivedEventRule) *flagsyncExporter {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.SDKKey = testKey
	cfg.DerivedEvents = rules
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, fmt.Sprintf("bench%d", len(rules)))
	e, err := newExporter(context.Background(), cfg, set, pipeline.SignalTraces)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

// benchConvertTraces is the component's conversion of a whole request, as it runs before the
// queue, with the given rules; b reports spans per second.
func benchConvertTraces(b *testing.B, rules []DerivedEventRule) {
	td, _ := benchTraces(512)
	e := benchExporter(b, rules)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if _, err := e.conversion.convertTraces(context.Background(), td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(td.SpanCount())*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
}

// tenRulesMatchingNothing are ten rules none of the traffic's spans meets: the cost every span
// pays for rules, whatever they derive.
func tenRulesMatchingNothing() []DerivedEventRule {
	rules := tenRules()
	for i := range rules {
		rules[i].Match.Status = "error"
	}
	return rules
}

func BenchmarkConvertTracesNoRules(b *testing.B) { benchConvertTraces(b, nil) }
func BenchmarkConvertTracesTenRulesNoMatch(b *testing.B) {
	benchConvertTraces(b, tenRulesMatchingNothing())
}
func BenchmarkConvertTracesTenRules(b *testing.B) { benchConvertTraces(b, tenRules()) }
