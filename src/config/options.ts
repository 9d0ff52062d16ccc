/**
 * The one option schema: every setting of the instrumentation and the exporters, with its
 * environment variable, type, default, bounds and documentation. Both resolve through
 * resolveOptions(); the README's tables are generated from it (options-docs.ts; a test fails
 * when they drift).
 *
 * A table and one function rather than a schema library: the rules are few (integers with bounds,
 * URLs, secrets, strings), the table is what the docs are generated from, and the package keeps
 * no dependency on either OpenTelemetry line's core.
 */

type OptionType = 'integer' | 'url' | 'secret' | 'string' | 'enum';

export interface OptionSpec {
  /** The option's name in code. */
  readonly name: string;
  /** Its environment variable, if it has one. */
  readonly env?: string;
  readonly type: OptionType;
  /** Default; undefined means none (required when `required`). */
  readonly default?: number | string;
  readonly min?: number;
  readonly max?: number;
  readonly required?: boolean;
  /** The accepted values of an `enum`. */
  readonly values?: readonly string[];
  /** How the default reads in the docs, when the number alone would not say it (units). */
  readonly defaultText?: string;
  readonly doc: string;
  /** Instrumentation (who delivers calls), the exporters' delivery, derived events. */
  readonly scope: 'instrumentation' | 'delivery' | 'derived';
}

const HOUR = 3_600_000;

export const OPTIONS: readonly OptionSpec[] = [
  // Who delivers each call: the instrumentation (FlagSyncInstrumentation, instrumentFlagSyncClient).
  {
    scope: 'instrumentation',
    name: 'delivery',
    env: 'FLAGSYNC_DELIVERY',
    type: 'enum',
    values: ['auto', 'sdk', 'exporter', 'collector'],
    default: 'auto',
    doc:
      'who delivers calls to FlagSync: `sdk` (the FlagSync SDK; OTel events are telemetry only), `exporter` (this ' +
      "process's FlagSync exporters), `collector` (a collector with the `flagsync` exporter, receipted by the app's " +
      'OTLP export), `auto` (`exporter` when a FlagSync exporter is running in this process, else `sdk`)',
  },
  {
    scope: 'instrumentation',
    name: 'receiptTimeoutMillis',
    env: 'FLAGSYNC_RECEIPT_TIMEOUT',
    type: 'integer',
    default: 30_000,
    min: 100,
    max: HOUR,
    doc: 'how long a call handed to a pipeline waits to be exported before it goes back to the SDK',
  },
  {
    scope: 'instrumentation',
    name: 'destroyTimeoutMillis',
    env: 'FLAGSYNC_DESTROY_TIMEOUT',
    type: 'integer',
    default: 5000,
    min: 0,
    max: HOUR,
    doc: "how long the client's `destroy()` waits for receipts before handing the rest back to the SDK",
  },
  // Delivery to FlagSync: the in-process exporters.
  {
    scope: 'delivery',
    name: 'sdkKey',
    env: 'FLAGSYNC_SDK_KEY',
    type: 'secret',
    required: true,
    doc: 'FlagSync server SDK key',
  },
  {
    scope: 'delivery',
    name: 'eventsUrl',
    env: 'FLAGSYNC_EVENTS_URL',
    type: 'url',
    default: 'https://sdk.flagsync.com',
    doc: "base URL of FlagSync's track API",
  },
  {
    scope: 'delivery',
    name: 'maxBatchSize',
    env: 'FLAGSYNC_EXPORT_MAX_BATCH_SIZE',
    type: 'integer',
    default: 500,
    min: 1,
    max: 10_000,
    doc: 'items per request to FlagSync',
  },
  {
    scope: 'delivery',
    name: 'maxBatchBytes',
    env: 'FLAGSYNC_EXPORT_MAX_BATCH_BYTES',
    type: 'integer',
    default: 1024 * 1024,
    min: 1024,
    max: 64 * 1024 * 1024,
    defaultText: '1 MiB',
    doc: 'bytes per request body',
  },
  {
    scope: 'delivery',
    name: 'flushIntervalMillis',
    env: 'FLAGSYNC_EXPORT_SCHEDULE_DELAY',
    type: 'integer',
    default: 2000,
    min: 1,
    max: HOUR,
    doc: 'longest wait before a partial batch is sent',
  },
  {
    scope: 'delivery',
    name: 'maxQueueSize',
    env: 'FLAGSYNC_EXPORT_MAX_QUEUE_SIZE',
    type: 'integer',
    default: 50_000,
    min: 1,
    max: 10_000_000,
    doc:
      'items queued per route (impressions, events) while FlagSync is slow or down; ' +
      'beyond it new items are dropped and counted',
  },
  {
    scope: 'delivery',
    name: 'maxQueueBytes',
    env: 'FLAGSYNC_EXPORT_MAX_QUEUE_BYTES',
    type: 'integer',
    default: 64 * 1024 * 1024,
    min: 1024,
    max: 8 * 1024 ** 3,
    defaultText: '64 MiB',
    doc: 'bytes of queued JSON per route; beyond it new items are dropped and counted',
  },
  {
    scope: 'delivery',
    name: 'timeoutMillis',
    env: 'FLAGSYNC_EXPORT_TIMEOUT',
    type: 'integer',
    default: 10_000,
    min: 1,
    max: HOUR,
    defaultText: '10000 ms (doubled, up to 4x, after a timeout)',
    doc: 'per-request timeout',
  },
  {
    scope: 'delivery',
    name: 'initialBackoffMillis',
    type: 'integer',
    default: 1000,
    min: 1,
    max: HOUR,
    doc: 'first retry delay; doubles per attempt, with jitter',
  },
  {
    scope: 'delivery',
    name: 'maxBackoffMillis',
    type: 'integer',
    default: 30_000,
    min: 1,
    max: HOUR,
    doc: "longest retry delay, unless FlagSync's Retry-After asks for more",
  },
  {
    scope: 'delivery',
    name: 'maxRetryAfterMillis',
    env: 'FLAGSYNC_EXPORT_MAX_RETRY_AFTER',
    type: 'integer',
    default: 300_000,
    min: 0,
    max: 24 * HOUR,
    doc: 'longest Retry-After honoured; longer ones are cut to this',
  },
  {
    scope: 'delivery',
    name: 'configErrorRetryDelayMillis',
    env: 'FLAGSYNC_EXPORT_CONFIG_ERROR_RETRY_DELAY',
    type: 'integer',
    default: 30_000,
    min: 1,
    max: 24 * HOUR,
    doc: 'pause before retrying after 401/403 (the key), 404/405 or a redirect (the URL); the data is kept meanwhile',
  },
  {
    scope: 'delivery',
    name: 'shutdownTimeoutMillis',
    env: 'FLAGSYNC_EXPORT_SHUTDOWN_TIMEOUT',
    type: 'integer',
    default: 10_000,
    min: 0,
    max: HOUR,
    doc: 'deadline for shutdown() and forceFlush()',
  },
  // Derived events: the in-process exporters.
  {
    scope: 'derived',
    name: 'derivedEventsWindowMillis',
    env: 'FLAGSYNC_DERIVED_EVENTS_WINDOW',
    type: 'integer',
    default: 300_000,
    min: 1000,
    max: 24 * HOUR,
    doc: "how long a trace's flag contexts (and spans waiting for one) are kept for derived events",
  },
  {
    scope: 'derived',
    name: 'derivedEventsMaxTraces',
    env: 'FLAGSYNC_DERIVED_EVENTS_MAX_TRACES',
    type: 'integer',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    doc: 'traces remembered at once for derived events (the oldest are forgotten first)',
  },
  {
    scope: 'derived',
    name: 'derivedEventsMaxBytes',
    env: 'FLAGSYNC_DERIVED_EVENTS_MAX_BYTES',
    type: 'integer',
    default: 64 * 1024 * 1024,
    min: 1024 * 1024,
    max: 64 * 1024 ** 3,
    defaultText: '64 MiB',
    doc:
      'bytes of flag contexts and waiting spans kept for derived events (the oldest traces are forgotten first); ' +
      'what it drops is counted in `stats().derivedDropped.max_bytes`',
  },
  {
    scope: 'derived',
    name: 'derivedEventsMaxPerTrace',
    env: 'FLAGSYNC_DERIVED_EVENTS_MAX_PER_TRACE',
    type: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc:
      'events derived from one trace, and flag contexts and waiting spans kept for it; what it drops is counted in ' +
      '`stats().derivedDropped.max_per_trace`',
  },
];

export class FlagSyncConfigError extends Error {
  override name = 'FlagSyncConfigError';
  /** Worded for someone running the CLI, who sets environment variables and flags. */
  readonly cliMessage: string;
  constructor(message: string, cliMessage?: string) {
    super(message);
    this.cliMessage = cliMessage ?? message;
  }
}

type Values = Record<string, number | string | undefined>;

/**
 * The values of these options: from `options` (an explicit undefined counts as not given), else
 * the environment, else `defaults` (per-use overrides), else the spec's default. Every value is
 * checked against its spec; a bad one throws a FlagSyncConfigError naming the option or variable.
 */
export function resolveOptions(
  specs: readonly OptionSpec[],
  options: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  defaults: Values = {},
): Values {
  const out: Values = {};
  for (const spec of specs) {
    const given = options[spec.name];
    const fromEnv = spec.env ? env[spec.env] : undefined;
    const source = given !== undefined ? `option ${spec.name}` : `env ${spec.env}`;
    const raw = given !== undefined ? given : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
    if (raw === undefined) {
      const fallback = spec.name in defaults ? defaults[spec.name] : spec.default;
      if (fallback === undefined && spec.required) throw missing(spec);
      out[spec.name] = fallback;
      continue;
    }
    out[spec.name] = check(spec, raw, source, given !== undefined);
  }
  return out;
}

function check(spec: OptionSpec, raw: unknown, source: string, fromOption: boolean): number | string {
  const fail = (what: string) => new FlagSyncConfigError(`${source} must be ${what}, got ${shown(spec, raw)}`);
  switch (spec.type) {
    case 'integer': {
      const n = typeof raw === 'string' && !fromOption ? Number(raw) : raw;
      const min = spec.min ?? Number.MIN_SAFE_INTEGER;
      const max = spec.max ?? Number.MAX_SAFE_INTEGER;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
        throw fail(`an integer from ${min} to ${max}`);
      }
      return n;
    }
    case 'url': {
      let url: URL | undefined;
      try {
        url = typeof raw === 'string' ? new URL(raw) : undefined;
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw fail('an http(s) URL');
      return url.href.replace(/\/+$/, '');
    }
    case 'enum':
      if (typeof raw !== 'string' || !spec.values!.includes(raw)) throw fail(`one of ${spec.values!.join(', ')}`);
      return raw;
    case 'secret':
      if (typeof raw !== 'string' || raw.trim() === '') throw fail('a non-empty string');
      if (/\s/.test(raw)) throw new FlagSyncConfigError(`${source} must not contain white space`);
      return raw;
    default:
      if (typeof raw !== 'string') throw fail('a string');
      return raw;
  }
}

/** Secrets are never shown, not even when they are wrong. */
function shown(spec: OptionSpec, raw: unknown): string {
  return spec.type === 'secret' ? '(hidden)' : JSON.stringify(raw);
}

function missing(spec: OptionSpec): FlagSyncConfigError {
  return new FlagSyncConfigError(
    `a ${spec.doc} is required: pass { ${spec.name} } or set ${spec.env}`,
    `set ${spec.env} to your ${spec.doc}`,
  );
}

export function optionsOf(scope: OptionSpec['scope']): readonly OptionSpec[] {
  return OPTIONS.filter((o) => o.scope === scope);
}

/**
 * The instrumentation's options outside the schema's `instrumentation` scope, with their accepted values where they
 * are a closed set (the others are checked where they are used: privacy.ts, recorder.ts).
 */
const RECORDING_OPTIONS: Readonly<Record<string, readonly string[] | undefined>> = {
  flagSignal: ['span', 'log'],
  trackSignal: ['span', 'log'],
  noRecordingSpan: ['log', 'sdk'],
  contextAttributes: undefined,
  hashContextKey: undefined,
  omitFlagValues: undefined,
  evaluationMetrics: undefined,
  spanEventCountLimit: undefined,
};

/**
 * Checks `FlagSyncInstrumentation`'s config or `instrumentFlagSyncClient`'s options: every name known (the schema's
 * instrumentation options, the recording options, and `extraNames` of the caller), and the closed-set values.
 * Throws a FlagSyncConfigError listing the valid names or values.
 */
export function checkInstrumentationOptions(
  options: Readonly<Record<string, unknown>>,
  owner: string,
  extraNames: readonly string[] = [],
): void {
  const names = [...optionsOf('instrumentation').map((o) => o.name), ...Object.keys(RECORDING_OPTIONS), ...extraNames];
  checkOptionNames(options, names, `${owner} option`);
  for (const [name, values] of Object.entries(RECORDING_OPTIONS)) {
    const value = options[name];
    if (values === undefined || value === undefined || (typeof value === 'string' && values.includes(value))) continue;
    throw new FlagSyncConfigError(
      `${owner} option ${name} must be one of ${values.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
}

/** A FlagSyncConfigError for the first name of `options` not in `names`, naming the valid ones. */
export function checkOptionNames(
  options: Readonly<Record<string, unknown>>,
  names: readonly string[],
  what: string,
): void {
  for (const name of Object.keys(options)) {
    if (names.includes(name)) continue;
    const near = names.find((n) => editDistance(n.toLowerCase(), name.toLowerCase()) <= 2);
    throw new FlagSyncConfigError(
      `unknown ${what} ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}; valid: ${names.join(', ')}`,
    );
  }
}

/** Levenshtein distance, for the "did you mean" of a misspelt option. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
