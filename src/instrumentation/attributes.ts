/** Builds the attributes of `feature_flag.evaluation` and `flagsync.track` events. */
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_FEATURE_FLAG_CONTEXT_ID,
  ATTR_FEATURE_FLAG_KEY,
  ATTR_FEATURE_FLAG_PROVIDER_NAME,
  ATTR_FEATURE_FLAG_RESULT_REASON,
  ATTR_FEATURE_FLAG_RESULT_VALUE,
  ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES,
  ATTR_FLAGSYNC_CONTEXT_KEY,
  ATTR_FLAGSYNC_EVENT_KEY,
  ATTR_FLAGSYNC_EVENT_PROPERTIES,
  ATTR_FLAGSYNC_EVENT_VALUE,
  ATTR_FLAGSYNC_EVENT_VALUE_NULL,
  ATTR_FLAGSYNC_IMPRESSION,
  ATTR_FLAGSYNC_VALUE,
  PROVIDER_NAME,
} from '../conventions.js';
import { toJsonText } from '../convert/json.js';
import type { FlagSyncUserContext } from '../types.js';
import type { ContextPrivacy } from './privacy.js';

export interface FlagEvaluation {
  flagKey: string;
  value: unknown;
  context: FlagSyncUserContext;
  /** False when the SDK itself would not record an impression for this call. */
  impression: boolean;
  reason: string;
  errorType?: string;
}

export interface TrackCall {
  context: FlagSyncUserContext;
  eventKey: string;
  value: unknown;
  properties: unknown;
}

export function flagEvaluationAttributes(call: FlagEvaluation, privacy: ContextPrivacy, omitValues: boolean): Attributes {
  const attributes: Attributes = {
    [ATTR_FEATURE_FLAG_KEY]: call.flagKey,
    [ATTR_FEATURE_FLAG_PROVIDER_NAME]: PROVIDER_NAME,
    [ATTR_FEATURE_FLAG_CONTEXT_ID]: privacy.mapKey(String(call.context.key)),
    [ATTR_FEATURE_FLAG_RESULT_REASON]: call.reason,
  };
  if (call.errorType) attributes[ATTR_ERROR_TYPE] = call.errorType;
  if (!omitValues) {
    const json = toJsonText(call.value);
    if (json !== undefined) attributes[ATTR_FLAGSYNC_VALUE] = json;
    const value = call.value;
    // Span attributes hold primitives only; other JSON values go as their JSON text.
    attributes[ATTR_FEATURE_FLAG_RESULT_VALUE] =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : json;
  }
  addContextAttributes(attributes, call.context, privacy);
  if (!call.impression) attributes[ATTR_FLAGSYNC_IMPRESSION] = false;
  return attributes;
}

export function trackAttributes(call: TrackCall, privacy: ContextPrivacy): Attributes {
  const attributes: Attributes = {
    [ATTR_FLAGSYNC_EVENT_KEY]: call.eventKey,
    [ATTR_FLAGSYNC_CONTEXT_KEY]: privacy.mapKey(String(call.context.key)),
  };
  const value = call.value;
  if (value === null) attributes[ATTR_FLAGSYNC_EVENT_VALUE_NULL] = true;
  else if (typeof value === 'number') attributes[ATTR_FLAGSYNC_EVENT_VALUE] = value;
  // Wrong types are kept as text so the exporter can reject them with a reason instead of guessing.
  else if (value !== undefined) attributes[ATTR_FLAGSYNC_EVENT_VALUE] = String(value);
  if (call.properties !== undefined) {
    const json = toJsonText(call.properties);
    if (json !== undefined) attributes[ATTR_FLAGSYNC_EVENT_PROPERTIES] = json;
  }
  addContextAttributes(attributes, call.context, privacy);
  return attributes;
}

function addContextAttributes(attributes: Attributes, context: FlagSyncUserContext, privacy: ContextPrivacy): void {
  const kept = privacy.filterAttributes(context.attributes);
  if (kept === undefined) return;
  const json = toJsonText(kept);
  if (json !== undefined) attributes[ATTR_FLAGSYNC_CONTEXT_ATTRIBUTES] = json;
}
