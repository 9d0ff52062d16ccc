/**
 * Joins derived events to the user: a span matching a rule (say the HTTP server span) becomes a
 * FlagSync event for each context a flag was evaluated for in the same trace (say in the handler
 * span below it). Evaluations fill a bounded, time-limited map from trace id to contexts; a
 * matching span reads it. A matching span that arrives before any evaluation of its trace waits
 * (bounded, for the same window) and is attributed when the first one arrives; if none arrives, it
 * gives nothing. Contexts first seen after a span was attributed are not added to it.
 *
 * Each event carries `sampling.probability` when the span's sampling probability is known
 * (derived-sampling.ts): under head sampling, only sampled requests give events.
 *
 * Limits: the memory is per process, so every span of a trace must reach the same exporter or
 * collector instance (in a collector fleet: the loadbalancing exporter, routing by trace id, as
 * tail sampling requires); spans waiting for an evaluation are lost on a restart.
 */
import type { DerivedEventsSetting } from './derived-presets.js';
import { compileRules, type CompiledRule, type SpanFacts, type SpanKindName } from './derived-rules.js';
import { probabilityFromTraceState, SAMPLING_PROBABILITY_PROPERTY } from './derived-sampling.js';

/** Derived-event settings, the same for the exporters and the service. */
export interface DerivedEventsConfig {
  /**
   * Rules turning spans into FlagSync events (derived-rules.ts), or a preset's name (`'http'`:
   * derived-presets.ts); presets may also stand in a list (`{ preset: 'http' }`). Default: none.
   */
  derivedEvents?: DerivedEventsSetting;
  /** How long a trace's contexts (and spans waiting for one) are kept, ms. Default 300000. */
  derivedEventsWindowMillis?: number;
  /** Most traces remembered at once (the oldest are forgotten first). Default 100000. */
  derivedEventsMaxTraces?: number;
}

/** Rules for these settings (validated: throws a FlagSyncConfigError naming the rule). */
export function createDerivedEvents(
  config: DerivedEventsConfig,
  traces: TraceContexts,
  source?: string,
): DerivedEvents {
  return new DerivedEvents(compileRules(config.derivedEvents, source), traces);
}

/** A derived FlagSync event: its JSON as FlagSync receives it, and what identifies it across sends. */
export interface DerivedEvent {
  json: string;
  /** The span it came from (the caller's identity for it), the rule's index and the context key. */
  source: { span: string; rule: number; contextKey: string };
  /** The span's sampling probability, when known (also in the event's properties). */
  probability?: number;
}

interface Waiting {
  spanId: string;
  rule: CompiledRule;
  /** The event's JSON after its context: `,"eventKey":...,"timestamp":"..."}`. */
  tail: string;
  probability: number | undefined;
}

interface Trace {
  /** Context key → the context's JSON text, in the order first seen. */
  contexts: Map<string, string>;
  /** Matching spans waiting for a context. */
  pending: Waiting[];
  expires: number;
}

/**
 * The contexts flags were evaluated for, by trace, and the matching spans waiting for one. Shared
 * by the exporters of one delivery engine, so evaluations recorded as log-based events count for
 * spans the span exporter sees.
 */
export class TraceContexts {
  private readonly _traces = new Map<string, Trace>();
  private readonly _windowMillis: number;
  private readonly _maxTraces: number;
  private _unattributed = 0;
  /** Set once some exporter has rules: until then noting contexts would only cost. */
  active = false;
  /** The clock read once per batch (tick()), as a batch's spans arrive together. */
  private _tickNow: number | undefined;

  constructor(
    config: Pick<DerivedEventsConfig, 'derivedEventsWindowMillis' | 'derivedEventsMaxTraces'> = {},
    private readonly _now: () => number = Date.now,
  ) {
    this._windowMillis = config.derivedEventsWindowMillis ?? 300_000;
    this._maxTraces = config.derivedEventsMaxTraces ?? 100_000;
  }

  /** Matching spans dropped because no evaluation of their trace arrived within the window. */
  get unattributed(): number {
    return this._unattributed;
  }

  /** Read the clock for the batch about to be converted (one read, not one per trace). */
  tick(): void {
    this._tickNow = this._now();
  }

  /** A flag was evaluated for this context in this trace; returns the events of spans that were waiting for it. */
  note(traceId: string, contextKey: string, contextText: string): readonly DerivedEvent[] {
    if (!this.active || !traceId) return NO_EVENTS;
    const trace = this._trace(traceId);
    if (!trace.contexts.has(contextKey)) trace.contexts.set(contextKey, contextText);
    if (trace.pending.length === 0) return NO_EVENTS;
    return trace.pending.splice(0).flatMap((w) => events(trace, w));
  }

  /** The events of a span matching a rule: one per context of its trace, or none yet (it waits). */
  attribute(traceId: string, waiting: Waiting): DerivedEvent[] {
    const trace = this._trace(traceId);
    if (trace.contexts.size === 0) {
      trace.pending.push(waiting);
      return [];
    }
    return events(trace, waiting);
  }

  private _trace(traceId: string): Trace {
    const now = this._tickNow ?? this._now();
    let trace = this._traces.get(traceId);
    if (trace && trace.expires <= now) {
      this._forget(traceId, trace);
      trace = undefined;
    }
    if (!trace) {
      this._evict(now);
      trace = { contexts: new Map(), pending: [], expires: now + this._windowMillis };
      this._traces.set(traceId, trace);
    }
    return trace;
  }

  /** Expired traces go (the map is in insertion order: oldest first), then the oldest beyond the bound. */
  private _evict(now: number): void {
    for (const [id, trace] of this._traces) {
      if (trace.expires > now && this._traces.size < this._maxTraces) break;
      this._forget(id, trace);
    }
  }

  private _forget(traceId: string, trace: Trace): void {
    this._unattributed += trace.pending.length;
    this._traces.delete(traceId);
  }
}

const NO_RULES: readonly CompiledRule[] = [];
/** Returned for "no events" (most calls): no array allocated. Callers only read it. */
const NO_EVENTS: readonly DerivedEvent[] = Object.freeze([]);
/** Distinct span names per kind whose candidate rules are remembered. */
const MAX_INDEXED = 4096;
const KIND_SLOT: Readonly<Record<SpanKindName, number>> = {
  internal: 0,
  server: 1,
  client: 2,
  producer: 3,
  consumer: 4,
};

/** Rules applied to spans, joined through the shared TraceContexts. */
export class DerivedEvents {
  /** Every attribute any rule reads. */
  readonly attributeNames: ReadonlySet<string>;
  /** Per kind (KIND_SLOT; 5: no kind), span name → the rules such a span may meet. */
  private readonly _candidates = Array.from({ length: 6 }, () => new Map<string, readonly CompiledRule[]>());

  /**
   * For spans whose tracestate gives none: the app's sampler's probability, if known (set by the
   * in-process exporters; a collector-side reader cannot know the apps' samplers).
   */
  samplingProbability: number | undefined;

  constructor(
    readonly rules: readonly CompiledRule[],
    readonly traces: TraceContexts,
  ) {
    this.attributeNames = new Set(rules.flatMap((r) => r.attributeNames));
    if (rules.length > 0) traces.active = true;
  }

  /**
   * The rules a span of this kind and name may meet: most spans meet none, and cost one lookup
   * (span names are few; their candidates are remembered).
   */
  rulesFor(kind: SpanKindName | undefined, name: string): readonly CompiledRule[] {
    if (this.rules.length === 0) return NO_RULES;
    const byName = this._candidates[kind === undefined ? 5 : KIND_SLOT[kind]]!;
    let list = byName.get(name);
    if (!list) {
      list = this.rules.filter(
        (r) => (r.kind === undefined || r.kind === kind) && (r.spanName === undefined || r.spanName === name),
      );
      if (list.length === 0) list = NO_RULES;
      if (byName.size >= MAX_INDEXED) byName.clear();
      byName.set(name, list);
    }
    return list;
  }

  noteContext(traceId: string, contextKey: string, contextText: string): readonly DerivedEvent[] {
    return this.traces.note(traceId, contextKey, contextText);
  }

  /** The events of one span: for every matching rule, one per context of its trace. */
  derive(
    span: SpanFacts,
    spanId: string,
    rules: readonly CompiledRule[] = this.rulesFor(span.kind, span.name),
  ): readonly DerivedEvent[] {
    if (!span.traceId || rules.length === 0) return NO_EVENTS;
    let out: DerivedEvent[] | undefined;
    // What every event of the span shares, read at its first matching rule.
    let time: string | undefined;
    let probability: number | undefined;
    let sampling = '';
    for (const rule of rules) {
      const value = rule.evaluate(span);
      if (value === undefined) continue;
      const key = rule.eventKeyJson(span);
      if (key === undefined) continue;
      if (time === undefined) {
        time = isoMillis(span.endMs);
        if (time === undefined) return NO_EVENTS;
        probability = probabilityFromTraceState(span.traceState) ?? this.samplingProbability;
        if (probability !== undefined) sampling = `${SAMPLING_PROPERTY_PREFIX}${JSON.stringify(probability)}`;
      }
      const valueJson = value === '' ? '' : `,"value":${value}`;
      const tail = `,"eventKey":${key}${valueJson}${rule.properties(span, sampling)},"timestamp":"${time}"}`;
      const attributed = this.traces.attribute(span.traceId, { spanId, rule, tail, probability });
      if (attributed.length === 0) continue;
      out ??= [];
      out.push(...attributed);
    }
    return out ?? NO_EVENTS;
  }
}

const SAMPLING_PROPERTY_PREFIX = `${JSON.stringify(SAMPLING_PROBABILITY_PROPERTY)}:`;

function events(trace: Trace, { spanId, rule, tail, probability }: Waiting): DerivedEvent[] {
  const out: DerivedEvent[] = [];
  for (const [contextKey, contextText] of trace.contexts) {
    out.push({
      json: `{"context":${contextText}${tail}`,
      source: { span: spanId, rule: rule.index, contextKey },
      probability,
    });
  }
  return out;
}

function isoMillis(ms: number): string | undefined {
  const date = new Date(Math.floor(ms));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
