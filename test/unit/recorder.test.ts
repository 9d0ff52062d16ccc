import type { Span } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  flagEvaluationAttributes,
  prepareServerContext,
  trackAttributes,
  type EventAttributes,
} from '../../src/instrumentation/attributes.js';
import { resolveContextPrivacy } from '../../src/instrumentation/privacy.js';
import { EventRecorder } from '../../src/instrumentation/recorder.js';

// The recorder checks what the span stored against what it wrote, attribute by attribute and by name:
// an attribute it forgot to compare would let an event cut by limits pass as recorded (the exporter then
// drops it as damaged and nobody delivers the call).
const context = prepareServerContext({ key: 'user-123', attributes: { plan: 'pro' } }, resolveContextPrivacy({}))!;
const built: Record<string, () => EventAttributes> = {
  'flag() with a value, a variant and an error type': () =>
    flagEvaluationAttributes(context, 'exporter', 'register-button-copy', 'Join Now', 'error', 'v1', 'general', false)!,
  'track() with a value and properties': () =>
    trackAttributes(context, 'exporter', 'page_load_time', 812.5, { route: '/register' })!,
};

/** An SDK span (events, droppedEventsCount) that stores a copy of each event's attributes, changed by `change`. */
function spanStoring(change: (stored: Record<string, unknown>) => void): Span {
  const events: { name: string; attributes: Record<string, unknown> }[] = [];
  return {
    events,
    droppedEventsCount: 0,
    addEvent(name: string, attributes: Record<string, unknown>) {
      const stored = { ...attributes };
      change(stored);
      events.push({ name, attributes: stored });
      return this;
    },
  } as unknown as Span;
}

const record = (attributes: EventAttributes, change: (stored: Record<string, unknown>) => void) =>
  new EventRecorder({}).record(spanStoring(change), 'feature_flag.evaluation', attributes, Date.now());

describe('a span event stored cut or short of an attribute', () => {
  for (const [call, attributes] of Object.entries(built)) {
    it(`${call}: stored as written, or without the variant, is recorded`, () => {
      expect(record(attributes(), () => {})).toBeUndefined();
      expect(record(attributes(), (stored) => delete stored['feature_flag.result.variant'])).toBeUndefined();
    });
    for (const name of Object.keys(attributes()).filter((n) => n !== 'feature_flag.result.variant')) {
      it(`${call}: ${name} dropped or cut leaves the call to the SDK`, () => {
        expect(record(attributes(), (stored) => delete stored[name])).toBe('attribute-limits');
        const value = attributes()[name];
        if (typeof value === 'string')
          expect(record(attributes(), (stored) => (stored[name] = value.slice(0, -1)))).toBe('attribute-limits');
      });
    }
  }
});
