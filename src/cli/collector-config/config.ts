/** A collector configuration as doctor reads it: its sections as plain maps, and the checks all shapes share. */

type Yaml = Record<string, unknown>;

export const isMap = (value: unknown): value is Yaml =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** A component's type: `otlp_http` of `otlp_http/backend`. */
export const typeOf = (id: string) => id.split('/')[0]!;
export const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

type Status = 'ok' | 'fail' | 'info';
/** One doctor line: ✓, ✗ (with the fix) or ·. */
export type AddLine = (status: Status, text: string, fix?: string) => void;

export interface CollectorConfig {
  /** The file as the user named it, first in every line. */
  name: string;
  receivers: Yaml;
  processors: Yaml;
  exporters: Yaml;
  extensions: Yaml;
  /** service.extensions */
  enabled: string[];
  pipelines: Record<string, Pipeline>;
}

export interface Pipeline {
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export const SIGNALS = ['traces', 'logs'] as const;
export type Signal = (typeof SIGNALS)[number];

export function collectorConfig(name: string, root: Yaml): CollectorConfig {
  const section = (value: unknown) => (isMap(value) ? value : {});
  const service = section(root.service);
  const pipelines: Record<string, Pipeline> = {};
  for (const [id, value] of Object.entries(section(service.pipelines))) {
    const pipeline = section(value);
    pipelines[id] = {
      receivers: list(pipeline.receivers),
      processors: list(pipeline.processors),
      exporters: list(pipeline.exporters),
    };
  }
  return {
    name,
    receivers: section(root.receivers),
    processors: section(root.processors),
    exporters: section(root.exporters),
    extensions: section(root.extensions),
    enabled: list(service.extensions),
    pipelines,
  };
}

/** The traces and logs pipelines, with their signal. */
export function signalPipelines(config: CollectorConfig): { id: string; signal: Signal; pipeline: Pipeline }[] {
  return Object.entries(config.pipelines)
    .map(([id, pipeline]) => ({ id, signal: typeOf(id) as Signal, pipeline }))
    .filter((p) => (SIGNALS as readonly string[]).includes(p.signal));
}

/**
 * The exporter's queue is persistent: `sending_queue.storage` names an extension that is defined and enabled.
 * `lost` says what goes without it; `example` is the shipped file to copy from.
 */
export function checkPersistentQueue(
  config: CollectorConfig,
  id: string,
  lost: string,
  example: string,
  add: AddLine,
): void {
  const { name } = config;
  const exporter = isMap(config.exporters[id]) ? config.exporters[id] : {};
  const queue = isMap(exporter.sending_queue) ? exporter.sending_queue : undefined;
  const storage = queue && typeof queue.storage === 'string' ? queue.storage : undefined;
  const fix =
    'add a file_storage extension (on a volume), list it in service.extensions, and set ' +
    `exporters.${id}.sending_queue.storage to it (see ${example})`;
  if (queue?.enabled === false) {
    add('fail', `${name}: exporter ${id} has its sending_queue disabled: no queue, no persistence`, fix);
  } else if (!storage) {
    add('fail', `${name}: exporter ${id} has no persistent queue (sending_queue.storage): ${lost}`, fix);
  } else if (!(storage in config.extensions) || !config.enabled.includes(storage)) {
    add(
      'fail',
      `${name}: exporter ${id} queues in storage ${storage}, which is not ` +
        `${storage in config.extensions ? 'listed in service.extensions' : 'defined under extensions'}`,
      fix,
    );
  } else {
    add('ok', `${name}: exporter ${id} has a persistent queue (sending_queue.storage: ${storage})`);
  }
}

/** Where a shipped configuration is, for the fixes. */
export const shipped = (file: string) => `${file} in the flagsync-otel package`;
