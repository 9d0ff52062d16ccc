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
import { resolveTraceMemoryConfig, type TraceMemoryConfig } from '../config/trace-memory-config.js';
import type { DerivedEventsSetting } from './derived-presets.js';
import { compileRules, type CompiledRule, type SpanFacts, type SpanKindName } from './derived-rules.js';
import { probabilityFromTraceState, SAMPLING_PROBABILITY_PROPERTY } from './derived-sampling.js';

/** Derived-event settings, the same for the exporters and the service. */
export interface DerivedEventsConfig extends Partial<TraceMemoryConfig> {
  /**
   * Rules turning spans into FlagSync events (derived-rules.ts), or a preset's name (`'http'`:
   * derived-presets.ts); presets may also stand in a list (`{ preset: 'http' }`). Default: none.
   */
  derivedEvents?: DerivedEventsSetting;
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
  /** Events derived from the trace so far, and the bytes it holds (contexts, waiting spans, overhead). */
  made: number;
  bytes: number;
}

/** Why the trace memory gave something up: the bound it reached (the Go component's `reason`). */
export type DerivedDroppedReason = 'max_bytes' | 'max_per_trace';

/** What a trace costs beyond its contexts and spans (map entries, objects), as the Go component counts it. */
const TRACE_OVERHEAD = 160;

/**
 * The contexts flags were evaluated for, by trace, and the matching spans waiting for one. Shared
 * by the exporters of one delivery engine, so evaluations recorded as log-based events count for
 * spans the span exporter sees. Bounded in traces, in bytes (string lengths: bytes for ASCII text,
 * tracked as things are added and forgotten) and per trace, as the Go component's local trace
 * memory (collector/flagsyncexporter/trace_contexts.go) is, with the same counts of what the
 * bounds drop.
 */
export class TraceContexts {
  private readonly _traces = new Map<string, Trace>();
  private readonly _config: TraceMemoryConfig;
  private _bytes = 0;
  private _unattributed = 0;
  private readonly _dropped: Record<DerivedDroppedReason, number> = { max_bytes: 0, max_per_trace: 0 };
  /** Set once some exporter has rules: until then noting contexts would only cost. */
  active = false;
  /** The clock read once per batch (tick()), as a batch's spans arrive together. */
  private _tickNow: number | undefined;

  /** `config`: resolved by the caller (resolveTraceMemoryConfig); what is missing takes the schema's default. */
  constructor(
    config: Readonly<Partial<TraceMemoryConfig>> = {},
    private readonly _now: () => number = Date.now,
  ) {
    this._config = resolveTraceMemoryConfig(config, {});
  }

  /**
   * Matching spans given up without an event: no evaluation of their trace arrived within the
   * window, their trace was forgotten for the trace bound, or the memory was closed.
   */
  get unattributed(): number {
    return this._unattributed;
  }

  /**
   * Derived events not made, and contexts or waiting spans not kept (or forgotten), because the
   * memory reached a bound: `max_bytes` (derivedEventsMaxBytes) or `max_per_trace`
   * (derivedEventsMaxPerTrace).
   */
  get dropped(): Readonly<Record<DerivedDroppedReason, number>> {
    return this._dropped;
  }

  /** Bytes held (contexts, waiting spans, per-trace overhead). */
  get bytes(): number {
    return this._bytes;
  }

  /** Read the clock for the batch about to be converted (one read, not one per trace). */
  tick(): void {
    this._tickNow = this._now();
  }

  /** A flag was evaluated for this context in this trace; returns the events of spans that were waiting for it. */
  note(traceId: string, contextKey: string, contextText: string): readonly DerivedEvent[] {
    if (!this.active || !traceId) return NO_EVENTS;
    const trace = this._trace(traceId);
    if (!trace.contexts.has(contextKey)) {
      const size = contextKey.length + contextText.length;
      if (this._admits(traceId, trace.contexts.size, size)) {
        trace.contexts.set(contextKey, contextText);
        this._grow(trace, size);
      }
    }
    if (trace.pending.length === 0 || trace.contexts.size === 0) return NO_EVENTS;
    const out: DerivedEvent[] = [];
    for (const w of trace.pending.splice(0)) {
      this._events(trace, w, out);
      this._grow(trace, -waitingSize(w));
    }
    return out;
  }

  /** The events of a span matching a rule: one per context of its trace, or none yet (it waits). */
  attribute(traceId: string, waiting: Waiting): DerivedEvent[] {
    const trace = this._trace(traceId);
    const out: DerivedEvent[] = [];
    if (trace.contexts.size > 0) this._events(trace, waiting, out);
    else if (this._admits(traceId, trace.pending.length, waitingSize(waiting))) {
      trace.pending.push(waiting);
      this._grow(trace, waitingSize(waiting));
    }
    return out;
  }

  /** Forget every trace (the last exporter's shutdown): spans still waiting count as unattributed. */
  close(): void {
    for (const [id, trace] of this._traces) this._forget(id, trace);
  }

  /**
   * Whether a trace holding `held` things of a kind (contexts, or waiting spans) takes one more of
   * `size` bytes within the per-trace and byte bounds; what a bound refuses is counted by its reason.
   */
  private _admits(traceId: string, held: number, size: number): boolean {
    if (held >= this._config.derivedEventsMaxPerTrace) {
      this._dropped.max_per_trace++;
      return false;
    }
    if (!this._makeRoom(traceId, size)) {
      this._dropped.max_bytes++;
      return false;
    }
    return true;
  }

  /** A span's events into `out`, one per context, up to the trace's bound; the rest are counted. */
  private _events(trace: Trace, { spanId, rule, tail, probability }: Waiting, out: DerivedEvent[]): void {
    const room = Math.max(this._config.derivedEventsMaxPerTrace - trace.made, 0);
    if (trace.contexts.size > room) this._dropped.max_per_trace += trace.contexts.size - room;
    let made = 0;
    for (const [contextKey, contextText] of trace.contexts) {
      if (made === room) break;
      out.push({
        json: `{"context":${contextText}${tail}`,
        source: { span: spanId, rule: rule.index, contextKey },
        probability,
      });
      made++;
    }
    trace.made += made;
  }

  private _grow(trace: Trace, by: number): void {
    trace.bytes += by;
    this._bytes += by;
  }

  private _trace(traceId: string): Trace {
    const now = this._tickNow ?? this._now();
    let trace = this._traces.get(traceId);
    if (trace && trace.expires <= now) {
      this._forget(traceId, trace);
      trace = undefined;
    }
    if (!trace) {
      this._evict(now, TRACE_OVERHEAD);
      trace = {
        contexts: new Map(),
        pending: [],
        expires: now + this._config.derivedEventsWindowMillis,
        made: 0,
        bytes: 0,
      };
      this._traces.set(traceId, trace);
      this._grow(trace, TRACE_OVERHEAD);
    }
    return trace;
  }

  /**
   * Expired traces go (the map is in insertion order: oldest first), then the oldest beyond the
   * trace bound (their waiting spans unattributed), then the oldest beyond the byte bound (their
   * waiting spans dropped for max_bytes), until a new trace of `adding` bytes fits.
   */
  private _evict(now: number, adding: number): void {
    const { derivedEventsMaxTraces: maxTraces, derivedEventsMaxBytes: maxBytes } = this._config;
    for (const [id, trace] of this._traces) {
      const live = trace.expires > now;
      if (live && this._traces.size < maxTraces && this._bytes + adding <= maxBytes) break;
      this._forget(id, trace, live && this._traces.size < maxTraces ? 'max_bytes' : undefined);
    }
  }

  /** Forget the oldest traces but `keep` until `size` more bytes fit; false if they cannot. */
  private _makeRoom(keep: string, size: number): boolean {
    const maxBytes = this._config.derivedEventsMaxBytes;
    if (this._bytes + size <= maxBytes) return true;
    // Too large even alone: forget nothing else for it.
    if ((this._traces.get(keep)?.bytes ?? 0) + size > maxBytes) return false;
    for (const [id, trace] of this._traces) {
      if (this._bytes + size <= maxBytes) break;
      if (id !== keep) this._forget(id, trace, 'max_bytes');
    }
    return this._bytes + size <= maxBytes;
  }

  /** Drop a trace: its waiting spans count as unattributed, or as dropped by the bound that forced it out. */
  private _forget(traceId: string, trace: Trace, reason?: DerivedDroppedReason): void {
    if (reason) this._dropped[reason] += trace.pending.length;
    else this._unattributed += trace.pending.length;
    this._bytes -= trace.bytes;
    this._traces.delete(traceId);
  }
}

/** What a waiting span holds, in bytes as the trace memory counts them. */
function waitingSize(w: Waiting): number {
  return w.tail.length + w.spanId.length;
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

function isoMillis(ms: number): string | undefined {
  const date = new Date(Math.floor(ms));
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
