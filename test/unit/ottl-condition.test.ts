/**
 * doctor's reading of filter conditions: true, false, or undefined (cannot tell) for one of FlagSync's events; never
 * a guess when a condition reads anything but the event's name or its span's event count.
 */
import { describe, expect, it } from 'vitest';
import { conditionIsTrue, type Item } from '../../src/cli/collector-config/ottl-condition.js';

const evaluation: Item = { context: 'spanevent', name: 'feature_flag.evaluation' };
const trackLog: Item = { context: 'log', eventName: 'flagsync.track' };
const span: Item = { context: 'span' };

describe('conditionIsTrue', () => {
  it.each([
    ['name != "feature_flag.evaluation" and name != "feature_flag" and name != "flagsync.track"', evaluation, false],
    ['spanevent.name == "feature_flag.evaluation"', evaluation, true],
    ['not (name == "feature_flag.evaluation")', evaluation, false],
    ['name == "x" or name == "feature_flag.evaluation"', evaluation, true],
    ['IsMatch(name, "^feature_flag\\\\.")', evaluation, true],
    ['IsMatch(spanevent.name, "^http")', evaluation, false],
    ['log.event_name != "feature_flag.evaluation" and log.event_name != "flagsync.track"', trackLog, false],
    ['event_name == "flagsync.track"', trackLog, true],
    ['Len(span.events) == 0', span, false],
    ['Len(span.events) > 0', span, true],
    ['Len(span.events) >= 1', span, true],
    ['0 < Len(span.events)', span, true],
    ['Len(span.events) == 2', span, undefined],
    ['true', span, true],
    ['false or name == "x"', span, undefined],
    ['attributes["http.route"] == "/health"', evaluation, undefined],
    ['attributes["http.route"] == "/health" and name == "x"', evaluation, false],
    ['attributes["http.route"] == "/health" or name == "feature_flag.evaluation"', evaluation, true],
    ['kind != SPAN_KIND_SERVER', span, undefined],
    ['name == ', evaluation, undefined],
    ['name == "unterminated', evaluation, undefined],
  ] as const)('%s → %s', (condition, item, expected) => {
    expect(conditionIsTrue(condition, item)).toBe(expected);
  });
});
