/**
 * Field numbers of the OTLP messages the protobuf decoder reads, from opentelemetry-proto
 * (collector/{trace,logs}/v1, trace/v1/trace.proto, logs/v1/logs.proto, common/v1/common.proto).
 */

/** ExportTraceServiceRequest.resource_spans, ExportLogsServiceRequest.resource_logs. */
export const EXPORT_REQUEST = { resources: 1 } as const;
/** ResourceSpans.scope_spans, ResourceLogs.scope_logs. */
export const RESOURCE_DATA = { scopes: 2 } as const;
/** ScopeSpans / ScopeLogs: the scope, then its spans or log records. */
export const SCOPE_DATA = { scope: 1, items: 2 } as const;
export const INSTRUMENTATION_SCOPE = { name: 1 } as const;

export const SPAN = {
  traceId: 1,
  spanId: 2,
  traceState: 3,
  name: 5,
  kind: 6,
  startTimeUnixNano: 7,
  endTimeUnixNano: 8,
  attributes: 9,
  events: 11,
  status: 15,
} as const;
export const SPAN_EVENT = { timeUnixNano: 1, name: 2, attributes: 3 } as const;
export const STATUS = { code: 3 } as const;

export const LOG_RECORD = {
  timeUnixNano: 1,
  body: 5,
  attributes: 6,
  traceId: 9,
  spanId: 10,
  observedTimeUnixNano: 11,
  eventName: 12,
} as const;

export const KEY_VALUE = { key: 1, value: 2 } as const;
export const ANY_VALUE = {
  stringValue: 1,
  boolValue: 2,
  intValue: 3,
  doubleValue: 4,
  arrayValue: 5,
  kvlistValue: 6,
  bytesValue: 7,
} as const;
/** ArrayValue.values, KeyValueList.values. */
export const LIST_VALUES = 1;
