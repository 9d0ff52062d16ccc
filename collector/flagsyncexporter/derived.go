// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"bytes"
	"encoding/json"
	"strconv"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Derived events: rules (derived_rules.go) that turn spans (HTTP server spans, document loads)
// into FlagSync events of the users whose flags were evaluated in the same trace (the trace
// memory, trace_contexts.go). The same contract as src/convert/derived-rules.ts and
// derived-events.ts, held to testdata/golden/derived.json.

type deriver struct {
	rules  []compiledRule
	traces traceMemory
}

// contextKey is the key of a context's JSON text (the converter has checked its shape). Contexts
// are written with the key first ({"key":"...): read in place, else parsed.
func contextKey(text []byte) []byte {
	const prefix = `{"key":"`
	if bytes.HasPrefix(text, []byte(prefix)) {
		rest := text[len(prefix):]
		if end := bytes.IndexByte(rest, '"'); end >= 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return rest[:end]
		}
	}
	var c struct {
		Key string `json:"key"`
	}
	_ = json.Unmarshal(text, &c)
	return []byte(c.Key)
}

// derive returns a span's matches: for every matching rule, its event without the context, which
// the trace memory makes one per context of the trace.
func (d *deriver) derive(s ptrace.Span, scope string) []traceSpan {
	traceID := s.TraceID()
	if traceID.IsEmpty() || s.SpanID().IsEmpty() {
		return nil
	}
	var out []traceSpan
	var sampling []byte // read from the tracestate at the first matching rule
	for i := range d.rules {
		r := &d.rules[i]
		if !r.matches(s, scope) {
			continue
		}
		tail, ok := r.appendEventKey([]byte(`,"eventKey":`), s)
		if !ok {
			continue
		}
		tail, ok = r.appendValue(tail, s)
		if !ok {
			continue
		}
		if sampling == nil {
			sampling = samplingProperty(s.TraceState().AsRaw())
		}
		tail = r.appendProperties(tail, s, sampling)
		tail = append(tail, `,"timestamp":"`...)
		tail = append(tail, formatTimestamp(uint64(s.EndTimestamp()))...)
		tail = append(tail, `"}`...)
		spanID := s.SpanID()
		source := append(append(append([]byte("d"), traceID[:]...), spanID[:]...), strconv.Itoa(r.index)...)
		out = append(out, traceSpan{traceID: traceID, waiting: waiting{tail: tail, source: source}})
	}
	return out
}
