/**
 * The one delivery engine, shared by the exporters and the collector-side service: two lanes
 * (impressions, events), each a bounded queue with batching, retry and drop accounting.
 */
import { Buffer } from 'node:buffer';
import { diag } from '@opentelemetry/api';
import { createRedactor, type ResolvedDeliveryConfig } from '../config/delivery-config.js';
import type { FlagSyncEvent, FlagSyncImpression } from '../types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { Lane, type EntryOutcome, type LaneBackoff, type LaneEntry, type LaneEvents, type LaneStats } from './lane.js';
import { ThrottledLog } from './throttled-log.js';
import { createHttpTransport, type Transport } from './transport.js';

type Settle = (outcome: EntryOutcome, tag: string | undefined, ref?: unknown) => void;
/** What the engine needs of an item: its route and its JSON (converted, or derived from a span). */
type DeliverableOutcome = { kind: 'impression' | 'event'; json: string };

function entry(json: string, settle?: Settle, tag?: string): LaneEntry {
  return {
    json,
    bytes: Buffer.byteLength(json),
    settle,
    tag,
    returnable: undefined,
    cancelled: undefined,
    ref: undefined,
  };
}

export interface DeliveryStats {
  impressions: LaneStats;
  events: LaneStats;
}

export class DeliveryEngine {
  private readonly _impressions: Lane;
  private readonly _events: Lane;
  private readonly _transport: Transport;
  private readonly _diag = diag.createComponentLogger({ namespace: 'flagsync-otel/delivery' });
  private readonly _log = new ThrottledLog(this._diag);
  private _shutdown: Promise<void> | undefined;
  private _refused = false;

  constructor(
    private readonly _config: ResolvedDeliveryConfig,
    transport?: Transport,
  ) {
    const redact = createRedactor([_config.sdkKey]);
    this._transport =
      transport ??
      createHttpTransport({
        baseUrl: _config.eventsUrl,
        sdkKey: _config.sdkKey,
        timeoutMillis: _config.timeoutMillis,
        maxRetryAfterMillis: _config.maxRetryAfterMillis,
        redact,
      });
    const sdkContextJson = JSON.stringify({ sdkName: PACKAGE_NAME, sdkVersion: PACKAGE_VERSION });
    const laneOptions = {
      sdkContextJson,
      maxBatchSize: _config.maxBatchSize,
      maxBatchBytes: _config.maxBatchBytes,
      maxQueueSize: _config.maxQueueSize,
      maxQueueBytes: _config.maxQueueBytes,
      flushIntervalMillis: _config.flushIntervalMillis,
      timeoutMillis: _config.timeoutMillis,
      backoff: { initialBackoffMillis: _config.initialBackoffMillis, maxBackoffMillis: _config.maxBackoffMillis },
      configErrorRetryDelayMillis: _config.configErrorRetryDelayMillis,
    };
    const events: LaneEvents = {
      onRetry: (kind, message, delay, unconfirmed, configProblem) => {
        if (configProblem) {
          this._refused = true;
          this._log.log(
            'error',
            'config',
            `${message}: a setting is wrong; ${kind} are kept queued and retried every ${delay} ms until it is fixed`,
          );
          return;
        }
        const doubt = unconfirmed
          ? ' (FlagSync may have stored them already; stats().unconfirmed counts what may arrive twice)'
          : '';
        this._log.log('warn', `retry:${kind}`, `${message}; ${kind} kept queued${doubt}, next attempt in ${delay} ms`);
      },
      onFailure: (kind, count, status, message) => {
        this._log.log(
          'error',
          `failure:${status}`,
          `${message}: ${count} ${kind} dropped, FlagSync will not accept them`,
        );
      },
      onDelivered: () => {
        this._refused = false;
      },
    };
    this._impressions = new Lane({ kind: 'impressions', ...laneOptions }, this._transport, events);
    this._events = new Lane({ kind: 'events', ...laneOptions }, this._transport, events);
  }

  /**
   * Queue a converter outcome, already in its wire form. False when it was dropped (queue full or
   * shut down; counted). `settle` is told once when the item is delivered or given up; a
   * `returnable` item (its call can go back to the FlagSync SDK) is given up at once when FlagSync
   * refuses the settings (401/403/404), instead of waiting in the queue for them to be fixed.
   */
  add(
    outcome: DeliverableOutcome,
    receipt?: Pick<LaneEntry, 'settle' | 'returnable' | 'cancelled'>,
    ref?: unknown,
  ): boolean {
    const lane = outcome.kind === 'impression' ? this._impressions : this._events;
    // Every entry of one shape (and one receipt policy object shared by all calls): the queue's code stays monomorphic.
    return this._offer(lane, {
      json: outcome.json,
      bytes: Buffer.byteLength(outcome.json),
      settle: receipt?.settle,
      tag: undefined,
      returnable: receipt?.returnable,
      cancelled: receipt?.cancelled,
      ref,
    });
  }

  /** False while FlagSync refuses this engine's settings (key, URL): `delivery: auto` then leaves calls to the SDK. */
  get refused(): boolean {
    return this._refused;
  }

  /** Queue one impression; false when it was dropped (queue full or shut down; counted). */
  addImpression(item: FlagSyncImpression, settle?: Settle, tag?: string): boolean {
    return this._offer(this._impressions, entry(JSON.stringify(item), settle, tag));
  }

  addEvent(item: FlagSyncEvent, settle?: Settle, tag?: string): boolean {
    return this._offer(this._events, entry(JSON.stringify(item), settle, tag));
  }

  /** Items waiting for delivery. */
  get queued(): number {
    return this._impressions.size + this._events.size;
  }

  /** While FlagSync is failing: the soonest time a retry is due, the last error and its status. */
  get backoff(): LaneBackoff | undefined {
    return this._impressions.backoff ?? this._events.backoff;
  }

  stats(): DeliveryStats {
    return { impressions: { ...this._impressions.stats }, events: { ...this._events.stats } };
  }

  /** Deliver everything queued now; resolves when done or at the deadline (what is left stays queued). */
  async forceFlush(timeoutMillis = this._config.shutdownTimeoutMillis): Promise<{ remaining: number }> {
    const deadline = Date.now() + timeoutMillis;
    const [a, b] = await Promise.all([this._impressions.drain(deadline), this._events.drain(deadline)]);
    return { remaining: a + b };
  }

  /** Flush within the deadline, then stop; what could not be delivered is reported and counted as failed. */
  shutdown(timeoutMillis = this._config.shutdownTimeoutMillis): Promise<void> {
    this._shutdown ??= (async () => {
      await this.forceFlush(timeoutMillis);
      const impressions = this._impressions.close('shut down before delivery');
      const events = this._events.close('shut down before delivery');
      if (impressions.lost + events.lost > 0) {
        const unanswered = impressions.unanswered + events.unanswered;
        const doubt =
          unanswered > 0
            ? ` (${unanswered} of them were sent and not answered yet: FlagSync may have stored them)`
            : '';
        this._diag.error(
          `shutdown deadline (${timeoutMillis} ms) passed: ${impressions.lost} impressions and ${events.lost} ` +
            `events were not delivered to FlagSync${doubt}`,
        );
      }
      await this._transport.close().catch(() => undefined);
    })();
    return this._shutdown;
  }

  private _offer(lane: Lane, item: LaneEntry): boolean {
    const accepted = lane.offer(item);
    if (!accepted) {
      this._log.log(
        'warn',
        'queue-full',
        `FlagSync queue full (${this._config.maxQueueSize} items or ${this._config.maxQueueBytes} bytes per route) ` +
          `or shut down: items are being dropped; see stats() for counts`,
      );
    }
    return accepted;
  }
}
