// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Walking requests, and the identity of the call each FlagSync event came from.

// forEachSpan calls fn with every span and its instrumentation scope's name.
func forEachSpan(td ptrace.Traces, fn func(ptrace.Span, string)) {
	for r := 0; r < td.ResourceSpans().Len(); r++ {
		scopes := td.ResourceSpans().At(r).ScopeSpans()
		for s := 0; s < scopes.Len(); s++ {
			scope := scopes.At(s).Scope().Name()
			spans := scopes.At(s).Spans()
			for i := 0; i < spans.Len(); i++ {
				fn(spans.At(i), scope)
			}
		}
	}
}

func forEachLogRecord(ld plog.Logs, fn func(plog.LogRecord)) {
	for r := 0; r < ld.ResourceLogs().Len(); r++ {
		scopes := ld.ResourceLogs().At(r).ScopeLogs()
		for s := 0; s < scopes.Len(); s++ {
			records := scopes.At(s).LogRecords()
			for i := 0; i < records.Len(); i++ {
				fn(records.At(i))
			}
		}
	}
}

// spanEventSource identifies a span event across sends: its span's ids and its index (a span is
// immutable once exported). nil for a span without ids: nothing then tells two calls apart.
func spanEventSource(span ptrace.Span, index int) []byte {
	traceID, spanID := span.TraceID(), span.SpanID()
	if traceID.IsEmpty() || spanID.IsEmpty() {
		return nil
	}
	out := make([]byte, 0, 16+8+binary.MaxVarintLen64)
	out = append(out, traceID[:]...)
	out = append(out, spanID[:]...)
	return binary.AppendUvarint(out, uint64(index)) //nolint:gosec // G115: an index, never negative
}

// logRecordSource identifies a log record across sends: its trace context, its times, and the
// call id this package's instrumentation writes (the item text covers the rest of its content).
func logRecordSource(lr plog.LogRecord, a attributes) []byte {
	traceID, spanID := lr.TraceID(), lr.SpanID()
	out := make([]byte, 0, 64)
	out = append(out, traceID[:]...)
	out = append(out, spanID[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(lr.Timestamp()))
	out = binary.BigEndian.AppendUint64(out, uint64(lr.ObservedTimestamp()))
	if callID, ok := a.get(attrFlagSyncCallID); ok {
		out = append(out, callID.AsString()...)
	}
	return out
}

// logRecordTime is the record's time, or its observed time when it has none (OTLP).
func logRecordTime(lr plog.LogRecord) uint64 {
	if t := uint64(lr.Timestamp()); t != 0 {
		return t
	}
	return uint64(lr.ObservedTimestamp())
}
