/**
 * Rule presets: a name standing for a set of derived-event rules, so a team gets the usual
 * experiment metrics with no rule written. `http` gives HTTP server latency and error rate, per
 * route and global, named as LaunchDarkly names the events it derives from OpenTelemetry traces
 * (`otel.http.latency`, `otel.http.error`; per route `http.latency;method=GET;route=/users/:id`).
 * The collector's flagsync exporter expands the same names to the same rules
 * (collector/flagsyncexporter/derived_presets.go), held together by testdata/golden/rules/presets.json.
 */
import { FlagSyncConfigError } from '../config/delivery-config.js';
import type { DerivedEventRule } from './derived-rules.js';

/** A preset in a list of rules: `{ preset: 'http' }` (YAML: `- preset: http`). */
export interface DerivedEventsPreset {
  preset: PresetName;
}

export type PresetName = 'http';

/** The `derivedEvents` setting: a preset's name, or a list of rules and presets. */
export type DerivedEventsSetting = PresetName | readonly (DerivedEventRule | DerivedEventsPreset)[];

/**
 * HTTP server spans as the stable HTTP semantic conventions describe them (semconv 1.23+, what
 * `@opentelemetry/instrumentation-http` writes on both OTel JS lines, and other languages'
 * instrumentations): kind server with a request method (`_OTHER` for unknown methods).
 */
const HTTP_SERVER: DerivedEventRule['match'] = {
  kind: 'server',
  attributes: [{ key: 'http.request.method', regex: '^[A-Z_]+$' }],
};
/** Per route: a span without `http.route` (no router told the instrumentation) gives only the global events. */
const PER_ROUTE = ';method={http.request.method};route={http.route}';

export const PRESETS: Readonly<Record<PresetName, readonly DerivedEventRule[]>> = {
  http: [
    { eventKey: 'otel.http.latency', match: HTTP_SERVER, value: { from: 'duration' } },
    { eventKey: 'otel.http.error', match: HTTP_SERVER, value: { from: 'flag', when: { status: 'error' } } },
    { eventKey: `http.latency${PER_ROUTE}`, match: HTTP_SERVER, value: { from: 'duration' } },
    { eventKey: `http.error${PER_ROUTE}`, match: HTTP_SERVER, value: { from: 'flag', when: { status: 'error' } } },
  ],
};

const NAMES = Object.keys(PRESETS) as PresetName[];

/** The rules a setting stands for, presets expanded in place; undefined stays undefined. */
export function expandPresets(
  setting: DerivedEventsSetting | undefined,
  source = 'derivedEvents',
): readonly DerivedEventRule[] | undefined {
  if (setting === undefined) return undefined;
  if (typeof setting === 'string') return presetRules(setting, source);
  if (!Array.isArray(setting)) throw new FlagSyncConfigError(`${source} must be a preset name or a list of rules`);
  if (!setting.some((item) => isPreset(item))) return setting as readonly DerivedEventRule[];
  return setting.flatMap((item, i) => {
    if (!isPreset(item)) return [item as DerivedEventRule];
    const extra = Object.keys(item).filter((k) => k !== 'preset');
    if (extra.length > 0)
      throw new FlagSyncConfigError(`${source}[${i}]: a preset entry takes only preset (found ${extra.join(', ')})`);
    return presetRules(item.preset, `${source}[${i}].preset`);
  });
}

function isPreset(item: unknown): item is DerivedEventsPreset {
  return typeof item === 'object' && item !== null && 'preset' in item;
}

function presetRules(name: unknown, at: string): readonly DerivedEventRule[] {
  if (typeof name === 'string' && Object.hasOwn(PRESETS, name)) return PRESETS[name as PresetName];
  throw new FlagSyncConfigError(`${at} must be one of the presets: ${NAMES.join(', ')} (got ${JSON.stringify(name)})`);
}
