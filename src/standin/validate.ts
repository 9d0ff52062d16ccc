/**
 * Request-body checks for the track routes, exactly as the wire reference describes them. Strict on
 * purpose: an unknown field or a wrong type is a bug in the sender, and tests should see it. The
 * user context is the app's own object, which the SDKs send whole: it needs a string key and, if
 * present, an object of attributes; other fields in it are the app's.
 */

export type Route = 'impressions' | 'events';
export type Audience = 'server' | 'client';

const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const IMPRESSION_FIELDS = new Set(['flagKey', 'flagValue', 'context', 'timestamp']);
const EVENT_FIELDS = new Set(['context', 'eventKey', 'value', 'properties', 'timestamp']);

/** Returns the first problem found, or undefined when the body is valid. */
export function validateTrackBody(route: Route, audience: Audience, body: unknown): string | undefined {
  if (!isObject(body)) return 'body must be a JSON object';
  const allowed = new Set([route, 'sdkContext', ...(audience === 'client' ? ['context'] : [])]);
  for (const key of Object.keys(body)) if (!allowed.has(key)) return `unexpected field "${key}"`;
  const sdk = body.sdkContext;
  if (!isObject(sdk) || !nonEmpty(sdk.sdkName) || !nonEmpty(sdk.sdkVersion))
    return 'sdkContext needs non-empty sdkName and sdkVersion';
  if (audience === 'client') {
    const problem = validateContext(body.context, 'context');
    if (problem) return problem;
  }
  const items = body[route];
  if (!Array.isArray(items)) return `${route} must be an array`;
  for (let i = 0; i < items.length; i++) {
    const problem =
      route === 'impressions' ? validateImpression(items[i], audience) : validateEvent(items[i], audience);
    if (problem) return `${route}[${i}]: ${problem}`;
  }
  return undefined;
}

function validateImpression(item: unknown, audience: Audience): string | undefined {
  if (!isObject(item)) return 'must be an object';
  for (const key of Object.keys(item))
    if (!IMPRESSION_FIELDS.has(key) || (key === 'context' && audience === 'client')) return `unexpected field "${key}"`;
  if (!nonEmpty(item.flagKey)) return 'flagKey must be a non-empty string';
  if (!('flagValue' in item)) return 'flagValue is required';
  return validateCommon(item, audience);
}

function validateEvent(item: unknown, audience: Audience): string | undefined {
  if (!isObject(item)) return 'must be an object';
  for (const key of Object.keys(item))
    if (!EVENT_FIELDS.has(key) || (key === 'context' && audience === 'client')) return `unexpected field "${key}"`;
  if (typeof item.eventKey !== 'string') return 'eventKey must be a string';
  if ('value' in item && item.value !== null && !(typeof item.value === 'number' && Number.isFinite(item.value)))
    return 'value must be a number or null';
  if ('properties' in item && item.properties !== null && !isObject(item.properties))
    return 'properties must be an object or null';
  return validateCommon(item, audience);
}

function validateCommon(item: Record<string, unknown>, audience: Audience): string | undefined {
  if (audience === 'server') {
    const problem = validateContext(item.context, 'context');
    if (problem) return problem;
  }
  if (
    typeof item.timestamp !== 'string' ||
    !ISO_MS_UTC.test(item.timestamp) ||
    Number.isNaN(Date.parse(item.timestamp))
  ) {
    return 'timestamp must be ISO-8601 UTC with milliseconds';
  }
  return undefined;
}

export function validateContext(context: unknown, name: string): string | undefined {
  if (!isObject(context)) return `${name} must be an object`;
  if (typeof context.key !== 'string') return `${name}.key must be a string`;
  if ('attributes' in context && !isObject(context.attributes)) return `${name}.attributes must be an object`;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
