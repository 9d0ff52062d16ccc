// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The trace memory of derived events: from trace id to the contexts flags were evaluated for,
// and the matching spans waiting for one. Local (trace_contexts.go, this process's memory) or in
// the shared store (trace_memory_postgres.go), where a gateway restart, a rolling deploy or a
// routing change loses nothing: another gateway carries on with the same traces.

// derivedEvent is one event derived from a span, what identifies it across sends, and its time
// (unix nanoseconds).
type derivedEvent struct {
	json   []byte
	source []byte
	at     uint64
}

// waiting is a matching span whose trace has no evaluation yet: its event minus the context.
type waiting struct {
	tail   []byte // from `,"eventKey"` to the closing brace
	source []byte // span ids and rule
}

// traceNote is a context a flag was evaluated for in a trace.
type traceNote struct {
	traceID   pcommon.TraceID
	key, text []byte
}

// traceSpan is a span matching a derived-event rule, as it waits for its trace's contexts.
type traceSpan struct {
	traceID pcommon.TraceID
	waiting waiting
}

type traceMemory interface {
	// apply records a request's notes, then attributes its spans: it returns the events of spans
	// (of this request, or waiting from earlier ones) whose trace has contexts; the others wait.
	// An error leaves the memory as it was (the request is refused and sent again).
	apply(ctx context.Context, notes []traceNote, spans []traceSpan) ([]derivedEvent, error)
	// sweep forgets expired traces; close ends the memory (at the last exporter's shutdown).
	sweep(ctx context.Context) error
	close(ctx context.Context) error
}

// traceCounters count what the trace memory gives up: matching spans whose trace had no
// evaluation in time (unattributed), and what its bounds drop (reason: max_bytes, max_per_trace).
type traceCounters struct {
	unattributed func(ctx context.Context, spans int64)
	dropped      func(ctx context.Context, reason string, n int64)
}

func (c traceCounters) countUnattributed(ctx context.Context, n int64) {
	if n > 0 && c.unattributed != nil {
		c.unattributed(ctx, n)
	}
}

func (c traceCounters) countDropped(ctx context.Context, reason string, n int64) {
	if n > 0 && c.dropped != nil {
		c.dropped(ctx, reason, n)
	}
}

const (
	droppedMaxBytes    = "max_bytes"
	droppedMaxPerTrace = "max_per_trace"
)

// eventsOf makes a waiting span's events, one per context (keys in order, texts by key).
func eventsOf(w waiting, keys [][]byte, texts func(key []byte) []byte) []derivedEvent {
	out := make([]derivedEvent, 0, len(keys))
	at := tailTime(w.tail)
	for _, key := range keys {
		text := texts(key)
		b := make([]byte, 0, 64+len(text)+len(w.tail))
		b = append(b, `{"context":`...)
		b = append(b, text...)
		b = append(b, w.tail...)
		source := append(append(append([]byte{}, w.source...), 0), key...)
		out = append(out, derivedEvent{json: b, source: source, at: at})
	}
	return out
}
