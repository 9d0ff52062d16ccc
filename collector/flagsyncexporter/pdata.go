// Copyright The flagsync-otel Authors
// SPDX-License-Identifier: Apache-2.0

package flagsyncexporter

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Walking requests, and cutting a request down to the parts not yet delivered, which exporterhelper
// then retries (consumererror.NewTraces / NewLogs): what was delivered is never sent again.

// spanRef locates a span in a request.
type spanRef struct{ resource, scope, span int }

// recordRef locates a log record in a request.
type recordRef struct{ resource, scope, record int }

func forEachSpan(td ptrace.Traces, fn func(spanRef, ptrace.Span)) {
	for r := 0; r < td.ResourceSpans().Len(); r++ {
		scopes := td.ResourceSpans().At(r).ScopeSpans()
		for s := 0; s < scopes.Len(); s++ {
			spans := scopes.At(s).Spans()
			for i := 0; i < spans.Len(); i++ {
				fn(spanRef{r, s, i}, spans.At(i))
			}
		}
	}
}

func forEachLogRecord(ld plog.Logs, fn func(recordRef, plog.LogRecord)) {
	for r := 0; r < ld.ResourceLogs().Len(); r++ {
		scopes := ld.ResourceLogs().At(r).ScopeLogs()
		for s := 0; s < scopes.Len(); s++ {
			records := scopes.At(s).LogRecords()
			for i := 0; i < records.Len(); i++ {
				fn(recordRef{r, s, i}, records.At(i))
			}
		}
	}
}

// logRecordTime is the record's time, or its observed time when it has none (OTLP).
func logRecordTime(lr plog.LogRecord) uint64 {
	if t := uint64(lr.Timestamp()); t != 0 {
		return t
	}
	return uint64(lr.ObservedTimestamp())
}

// undeliveredTraces is the request cut down to the spans with undelivered events, each keeping
// only those events (by index).
func undeliveredTraces(td ptrace.Traces, events map[spanRef][]int) ptrace.Traces {
	out := ptrace.NewTraces()
	for r := 0; r < td.ResourceSpans().Len(); r++ {
		resourceSpans := td.ResourceSpans().At(r)
		var outResource ptrace.ResourceSpans
		hasResource := false
		for s := 0; s < resourceSpans.ScopeSpans().Len(); s++ {
			scopeSpans := resourceSpans.ScopeSpans().At(s)
			var outScope ptrace.ScopeSpans
			hasScope := false
			for i := 0; i < scopeSpans.Spans().Len(); i++ {
				keep, ok := events[spanRef{r, s, i}]
				if !ok {
					continue
				}
				if !hasResource {
					hasResource = true
					outResource = out.ResourceSpans().AppendEmpty()
					resourceSpans.Resource().CopyTo(outResource.Resource())
					outResource.SetSchemaUrl(resourceSpans.SchemaUrl())
				}
				if !hasScope {
					hasScope = true
					outScope = outResource.ScopeSpans().AppendEmpty()
					scopeSpans.Scope().CopyTo(outScope.Scope())
					outScope.SetSchemaUrl(scopeSpans.SchemaUrl())
				}
				span := outScope.Spans().AppendEmpty()
				scopeSpans.Spans().At(i).CopyTo(span)
				kept := make(map[int]bool, len(keep))
				for _, index := range keep {
					kept[index] = true
				}
				index := 0
				span.Events().RemoveIf(func(ptrace.SpanEvent) bool {
					drop := !kept[index]
					index++
					return drop
				})
			}
		}
	}
	return out
}

// undeliveredLogs is the request cut down to the undelivered log records.
func undeliveredLogs(ld plog.Logs, records map[recordRef]bool) plog.Logs {
	out := plog.NewLogs()
	for r := 0; r < ld.ResourceLogs().Len(); r++ {
		resourceLogs := ld.ResourceLogs().At(r)
		var outResource plog.ResourceLogs
		hasResource := false
		for s := 0; s < resourceLogs.ScopeLogs().Len(); s++ {
			scopeLogs := resourceLogs.ScopeLogs().At(s)
			var outScope plog.ScopeLogs
			hasScope := false
			for i := 0; i < scopeLogs.LogRecords().Len(); i++ {
				if !records[recordRef{r, s, i}] {
					continue
				}
				if !hasResource {
					hasResource = true
					outResource = out.ResourceLogs().AppendEmpty()
					resourceLogs.Resource().CopyTo(outResource.Resource())
					outResource.SetSchemaUrl(resourceLogs.SchemaUrl())
				}
				if !hasScope {
					hasScope = true
					outScope = outResource.ScopeLogs().AppendEmpty()
					scopeLogs.Scope().CopyTo(outScope.Scope())
					outScope.SetSchemaUrl(scopeLogs.SchemaUrl())
				}
				scopeLogs.LogRecords().At(i).CopyTo(outScope.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}
