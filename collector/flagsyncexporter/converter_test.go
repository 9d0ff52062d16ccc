// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// goldenCase is one case of testdata/golden, the conversion contract this converter shares with
// the TypeScript one (test/unit/golden.test.ts reads the same files).
type goldenCase struct {
	Name      string `json:"name"`
	Converter struct {
		ProviderNames []string `json:"providerNames"`
		// Consumer "exporter": a case for the TypeScript in-process exporter, not this component.
		Consumer      string             `json:"consumer"`
		DerivedEvents []DerivedEventRule `json:"derivedEvents"`
	} `json:"converter"`
	Signal  string          `json:"signal"`
	Request json.RawMessage `json:"request"`
	Expect  goldenOutcomes  `json:"expect"`
}

type goldenOutcomes struct {
	Impressions []string `json:"impressions"`
	Events      []string `json:"events"`
	Rejected    []string `json:"rejected"`
	Damaged     int      `json:"damaged"`
	// With derived-event rules: the events derived from spans.
	Derived []string `json:"derived,omitempty"`
	// When given: the events another deliverer has (flagsync.delivery).
	Elsewhere *int `json:"elsewhere,omitempty"`
}

func loadGolden(tb testing.TB) map[string][]goldenCase {
	files, err := filepath.Glob("testdata/golden/*.json")
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "testdata/golden holds copies of the root testdata/golden: run scripts/sync-golden.sh")
	out := map[string][]goldenCase{}
	for _, file := range files {
		data, err := os.ReadFile(file) //nolint:gosec // G304: the module's own testdata
		require.NoError(tb, err)
		var cases []goldenCase
		require.NoError(tb, json.Unmarshal(data, &cases), file)
		out[filepath.Base(file)] = cases
	}
	return out
}

// convertRequest runs every event of an OTLP/JSON request through the converter, and with rules
// (d not nil) its spans through them, as convertTraces does.
func convertRequest(tb testing.TB, c *converter, d *deriver, signal string, request []byte, countElsewhere bool) goldenOutcomes {
	got := goldenOutcomes{Impressions: []string{}, Events: []string{}, Rejected: []string{}}
	if d != nil {
		got.Derived = []string{}
	}
	if countElsewhere {
		got.Elsewhere = new(int)
	}
	derived := func(events []derivedEvent) {
		for _, e := range events {
			got.Derived = append(got.Derived, string(e.json))
		}
	}
	record := func(o outcome, traceID pcommon.TraceID) {
		if d != nil && o.context != nil {
			defer derived(d.traces.(*traceContexts).note(context.Background(), traceID, contextKey(o.context), o.context))
		}
		switch o.kind {
		case outcomeImpression:
			got.Impressions = append(got.Impressions, string(o.json))
		case outcomeEvent:
			got.Events = append(got.Events, string(o.json))
		case outcomeRejected:
			got.Rejected = append(got.Rejected, o.reason)
		case outcomeDamaged:
			got.Damaged++
		case outcomeElsewhere:
			if got.Elsewhere != nil {
				*got.Elsewhere++
			}
		}
	}
	if signal == "traces" {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(request)
		require.NoError(tb, err)
		forEachSpan(td, func(span ptrace.Span, _ string) {
			for i := 0; i < span.Events().Len(); i++ {
				event := span.Events().At(i)
				if isCandidate(event.Name()) {
					record(c.convert(event.Name(), uint64(event.Timestamp()), spanEventAttributes(event.Attributes())), span.TraceID())
				}
			}
		})
		if d != nil {
			forEachSpan(td, func(span ptrace.Span, scope string) {
				for _, s := range d.derive(span, scope) {
					derived(d.traces.(*traceContexts).attribute(context.Background(), s.traceID, s.waiting))
				}
			})
		}
		return got
	}
	ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(request)
	require.NoError(tb, err)
	forEachLogRecord(ld, func(lr plog.LogRecord) {
		if isCandidate(lr.EventName()) {
			record(c.convert(lr.EventName(), logRecordTime(lr), logRecordAttributes(lr.Attributes(), lr.Body())), lr.TraceID())
		}
	})
	return got
}

func TestGoldenVectors(t *testing.T) {
	for file, cases := range loadGolden(t) {
		for _, tc := range cases {
			t.Run(file+"/"+tc.Name, func(t *testing.T) {
				if tc.Converter.Consumer != "" && tc.Converter.Consumer != deliveryCollector {
					t.Skipf("a case for the %s consumer", tc.Converter.Consumer)
				}
				var d *deriver
				if len(tc.Converter.DerivedEvents) > 0 {
					rules, err := compileRules(tc.Converter.DerivedEvents)
					require.NoError(t, err)
					d = &deriver{rules: rules, traces: newTraceContexts(time.Minute, testTraceLimits(1000))}
				}
				got := convertRequest(t, newConverter(tc.Converter.ProviderNames), d, tc.Signal, tc.Request, tc.Expect.Elsewhere != nil)
				assertSameOutcomes(t, tc.Expect, got)
			})
		}
	}
}

// assertSameOutcomes compares outcomes by meaning: items as parsed JSON (numbers by value, key
// order irrelevant), in order; reasons and counts exactly. FlagSync parses what it receives, so
// the bytes of an item are not part of the contract.
func assertSameOutcomes(t *testing.T, want, got goldenOutcomes) {
	t.Helper()
	assertSameItems(t, "impressions", want.Impressions, got.Impressions)
	assertSameItems(t, "events", want.Events, got.Events)
	assertSameItems(t, "derived", want.Derived, got.Derived)
	assert.Equal(t, want.Derived == nil, got.Derived == nil, "derived given")
	assert.Equal(t, want.Rejected, got.Rejected, "rejected")
	assert.Equal(t, want.Damaged, got.Damaged, "damaged")
	assert.Equal(t, want.Elsewhere, got.Elsewhere, "elsewhere")
}

func assertSameItems(t *testing.T, what string, want, got []string) {
	t.Helper()
	if !assert.Len(t, got, len(want), what) {
		assert.Equal(t, want, got, what)
		return
	}
	for i := range want {
		assert.True(t, sameJSON(t, want[i], got[i]), "%s[%d]:\nwant %s\ngot  %s", what, i, want[i], got[i])
	}
}

// sameJSON reports whether two JSON texts hold the same value: objects with the same members in
// any order, arrays element by element, numbers equal as exact rationals.
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	return assert.ObjectsAreEqual(parseJSON(t, a), parseJSON(t, b))
}

func parseJSON(t *testing.T, text string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), text)
	return exactNumbers(t, v)
}

// exactNumber is a JSON number's exact value, as a rational's canonical text.
type exactNumber string

// exactNumbers replaces json.Numbers by their exact values.
func exactNumbers(t *testing.T, v any) any {
	t.Helper()
	switch v := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(v.String())
		require.True(t, ok, "a JSON number: %s", v)
		return exactNumber(r.RatString())
	case []any:
		for i := range v {
			v[i] = exactNumbers(t, v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = exactNumbers(t, v[k])
		}
	}
	return v
}

func TestGoldenItemsCompareByMeaning(t *testing.T) {
	assert.True(t, sameJSON(t, `{"a":1,"b":[1e21,0.5]}`, `{"b":[1000000000000000000000,5e-1],"a":1.0}`))
	assert.True(t, sameJSON(t, `"\u00e9<"`, `"é\u003c"`))
	assert.False(t, sameJSON(t, `{"a":9007199254740993}`, `{"a":9007199254740992}`), "exact, beyond float64")
	assert.False(t, sameJSON(t, `{"a":"1"}`, `{"a":1}`))
}

func TestJSONEncoding(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 123456789.125, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 9007199254740994} {
		text := string(appendJSON(nil, f))
		var back float64
		require.NoError(t, json.Unmarshal([]byte(text), &back), text)
		assert.Equal(t, f, back, text)
	}
	for _, s := range []string{"plain-key_1.2", "say \"hi\"\\\t\x01\u2028😀", "<&>", "\xffx"} {
		text := appendJSONString(nil, s)
		var back string
		require.NoError(t, json.Unmarshal(text, &back), string(text))
		assert.Equal(t, strings.ToValidUTF8(s, "\uFFFD"), back)
	}
	assert.Equal(t, `"plain-key"`, string(appendJSONString(nil, "plain-key")))
	assert.Equal(t, 3, utf16Len("a😀"))
}

func TestTextsNotUTF8AreDeliveredAsUTF8(t *testing.T) {
	assert.Equal(t, "u\uFFFD\uFFFDx😀", utf8Text("u\xff\xfex😀"))
	assert.Equal(t, "plain", utf8Text("plain"))
	c := newConverter(nil)
	convert := func(name string, attrs map[string]string) outcome {
		m := pcommon.NewMap()
		for k, v := range attrs {
			m.PutStr(k, v)
		}
		m.PutInt(attrFlagSyncSize, int64(payloadSize(attributes{attrs: m})))
		return c.convert(name, 1795000000000000000, spanEventAttributes(m))
	}
	context := "{\"key\":\"u\xff\xfe\"}"
	impression := convert(eventFeatureFlagEvaluation, map[string]string{
		attrFeatureFlagKey: "f", attrFeatureFlagProviderName: providerName, attrFeatureFlagContextID: "u\xff\xfe",
		attrFlagSyncValue: "\"v\xff\"", attrFlagSyncContext: context,
	})
	event := convert(eventFlagSyncTrack, map[string]string{
		attrFlagSyncEventKey: "e", attrFlagSyncContext: context, attrFlagSyncEventProperties: "{\"p\":\"\xff\"}",
	})
	require.Equal(t, outcomeImpression, impression.kind, impression.reason)
	require.Equal(t, outcomeEvent, event.kind, event.reason)
	for _, item := range []outcome{impression, event} {
		assert.True(t, utf8.Valid(item.json), string(item.json))
		assert.Contains(t, string(item.json), "\"key\":\"u\uFFFD\uFFFD\"")
	}
}

func TestOtherEmittersValuesAsJSON(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("b", "1")
	m.PutInt("10", 9007199254740993)
	m.PutEmpty("none")
	m.PutEmptySlice("list").AppendEmpty().SetDouble(0.5)
	v := pcommon.NewValueMap()
	m.CopyTo(v.Map())
	require.True(t, isJSONValue(v, 0))
	assert.True(t, sameJSON(t, `{"b":"1","10":9007199254740993,"none":null,"list":[0.5]}`, string(appendJSON(nil, v.AsRaw()))))
	v.Map().PutEmptyBytes("raw")
	assert.False(t, isJSONValue(v, 0), "bytes are not JSON")
}
