/** Converter + shared delivery engine + rejection accounting: what both in-process exporters share. */
import { diag, metrics, type MeterProvider } from '@opentelemetry/api';
import { ATTR_FLAGSYNC_DELIVERY, DELIVERY_EXPORTER } from '../conventions.js';
import { resolveDeliveryConfig, type FlagSyncDeliveryOptions } from '../config/delivery-config.js';
import { resolveTraceMemoryConfig } from '../config/trace-memory-config.js';
import {
  createConverter,
  type ConversionOutcome,
  type Converter,
  type ConverterOptions,
} from '../convert/converter.js';
import {
  createDerivedEvents,
  type DerivedDroppedReason,
  type DerivedEvent,
  type DerivedEvents,
  type DerivedEventsConfig,
} from '../convert/derived-events.js';
import type { DeliveryStats } from '../delivery/delivery-engine.js';
import { acquireEngine, type EngineLease } from '../delivery/shared-engine.js';
import { ThrottledLog } from '../delivery/throttled-log.js';
import type { Transport } from '../delivery/transport.js';
import type { EntryOutcome } from '../delivery/lane.js';
import { registerLiveExporter } from '../instrumentation/delivery-mode.js';
import { giveBack, isWithdrawn, receipt, take, type Claim } from '../instrumentation/handover.js';
import { EXPORT_FAILED, EXPORT_SUCCESS, type ExportResult } from '../otel/sdk-contract.js';
import { appSamplerProbability } from '../otel/sampler-probability.js';
import { CONVERSION_METRICS, observeSelfMetrics, type ConversionSource } from '../otel/self-metrics.js';

export interface FlagSyncExporterOptions
  extends FlagSyncDeliveryOptions,
    Omit<ConverterOptions, 'consumer'>,
    DerivedEventsConfig {
  /** Replace the HTTP transport (tests); such an exporter gets an engine of its own. */
  transport?: Transport;
  /**
   * Where self-metrics (`flagsync_otel.*`) go. Default: the global MeterProvider, looked up at each
   * export, since the SDK usually registers it after the exporter is constructed.
   */
  meterProvider?: MeterProvider;
}

export interface ExporterStats extends DeliveryStats {
  /** FlagSync events that could not be converted, by reason. */
  rejected: Record<string, number>;
  /**
   * Our events cut by attribute limits on the way (not delivered; the instrumentation leaves such calls to the SDK).
   */
  damaged: number;
  /**
   * Events derived from spans by `derivedEvents` rules, queued. A sample under head sampling: only
   * exported (sampled) spans give events; each carries `sampling.probability` when it is known.
   */
  derived: number;
  /**
   * Of those, the events from spans sampled with a probability below 1 (each stands for 1/p requests):
   * not 0 means the derived events are a sample, to be weighted, not counted.
   */
  derivedSampled: number;
  /** Spans matching a rule whose trace had no flag evaluation within the window (or before shutdown): no event. */
  unattributed: number;
  /**
   * Derived events not made, and contexts or waiting spans not kept, because the trace memory
   * reached a bound, by reason: `max_bytes` (`derivedEventsMaxBytes`), `max_per_trace`
   * (`derivedEventsMaxPerTrace`). Shared, like `unattributed`, by the exporters of one engine.
   */
  derivedDropped: Record<DerivedDroppedReason, number>;
  /** Calls whose events another deliverer has (`flagsync.delivery` sdk or collector, or returned to the SDK). */
  elsewhere: number;
}

/** True for an event of a call this package handed to the in-process exporters. */
export function isHandedToExporter(attributes: Readonly<Record<string, unknown>> | undefined): boolean {
  return attributes?.[ATTR_FLAGSYNC_DELIVERY] === DELIVERY_EXPORTER;
}

/** FlagSync's answer for a handed-over call: the receipt, or the call goes back to the SDK. */
function settleClaim(outcome: EntryOutcome, _tag: string | undefined, claim: unknown): void {
  if (outcome.delivered) receipt(claim as Claim);
  else giveBack([claim as Claim], outcome.status !== undefined ? 'refused' : 'shutdown');
}

/** Given back to the SDK meanwhile (the app ended): the queued copy must not be sent. */
function isCancelled(claim: unknown): boolean {
  return isWithdrawn(claim as Claim);
}

/** How a handed-over call's queued copy is answered: its claim is the entry's ref. */
const RECEIPTS = { settle: settleClaim, cancelled: isCancelled, returnable: true };

export abstract class FlagSyncExporterBase<Item> {
  protected readonly _converter: Converter;
  protected readonly _derived: DerivedEvents;
  private _derivedCount = 0;
  private _derivedSampled = 0;
  protected readonly _log: ThrottledLog;
  private readonly _lease: EngineLease;
  private readonly _rejected: Record<string, number> = {};
  private _damaged = 0;
  private _elsewhere = 0;
  private _isShutdown = false;
  private readonly _unregister: () => void;
  /** Items of the export() in progress that could not be queued or converted. */
  private _lost = 0;
  private readonly _signal: 'traces' | 'logs';
  private readonly _explicitMeterProvider: boolean;
  private _meterProvider: MeterProvider | undefined;
  private _stopMetrics: (() => void) | undefined;
  /**
   * One converted event. `attributes` are the event's own (its FlagSync fields) and `claim` the
   * handed-over call it records, if this process holds one: the exporter takes it, and FlagSync's
   * answer for the batch holding it is the call's receipt (2xx) or its return to the SDK.
   */
  protected readonly _handle = (
    outcome: ConversionOutcome,
    attributes: Readonly<Record<string, unknown>> | undefined,
    claim: Claim | undefined,
  ): void => {
    switch (outcome.kind) {
      case 'impression':
      case 'event': {
        if (isHandedToExporter(attributes)) {
          // Ours only while its claim is undecided: settled (receipted, or returned to the SDK) or
          // unknown, the SDK's copy decides, and delivering it here could deliver it twice.
          if (!claim || !take(claim)) {
            this._elsewhere++;
            break;
          }
          if (!this._lease.engine.add(outcome, RECEIPTS, claim)) giveBack([claim], 'queue-full');
          break;
        }
        if (!this._lease.engine.add(outcome)) this._lost++;
        break;
      }
      case 'elsewhere':
        this._elsewhere++;
        break;
      case 'rejected':
        this._lost++;
        this._rejected[outcome.reason] = (this._rejected[outcome.reason] ?? 0) + 1;
        this._log.log('warn', outcome.reason, `FlagSync event not converted: ${outcome.reason}`);
        break;
      case 'damaged':
        this._damaged++;
        this._log.log(
          'warn',
          'damaged',
          'a FlagSync event arrived cut by attribute limits and was ignored (the instrumentation leaves such calls ' +
            'to the FlagSync SDK where it can tell); raise the attribute value length limit or use the log signal',
        );
        break;
    }
  };

  protected readonly _handleDerived = (event: DerivedEvent): void => {
    if (this._lease.engine.add({ kind: 'event', json: event.json })) {
      this._derivedCount++;
      if (event.probability !== undefined && event.probability < 1) this._derivedSampled++;
    } else this._lost++;
  };

  constructor(options: FlagSyncExporterOptions, component: string, signal: 'traces' | 'logs') {
    this._converter = createConverter({ ...options, consumer: DELIVERY_EXPORTER });
    this._lease = acquireEngine(resolveDeliveryConfig(options), options.transport, resolveTraceMemoryConfig(options));
    this._derived = createDerivedEvents(options, this._lease.traces);
    this._log = new ThrottledLog(diag.createComponentLogger({ namespace: `flagsync-otel/${component}` }));
    this._signal = signal;
    this._explicitMeterProvider = options.meterProvider !== undefined;
    if (options.meterProvider) this._reportMetricsTo(options.meterProvider, true);
    else this._followGlobalMeterProvider();
    // `delivery: auto` hands this signal's calls to the exporters while one can deliver.
    this._unregister = registerLiveExporter({
      signal,
      canDeliver: () => !this._isShutdown && !this._lease.engine.refused,
    });
  }

  /** Conversion counts of this exporter (attribute `signal`) and the shared engine's delivery counts. */
  private _reportMetricsTo(provider: MeterProvider, explicit: boolean): void {
    this._stopMetrics?.();
    this._meterProvider = provider;
    this._lease.reportMetricsTo(provider, explicit);
    const stats = () => this.stats();
    const source: ConversionSource = {
      get rejected() {
        return Object.values(stats().rejected).reduce((a, b) => a + b, 0);
      },
      get damaged() {
        return stats().damaged;
      },
      get derived() {
        return stats().derived;
      },
      get unattributed() {
        return stats().unattributed;
      },
      get derivedDropped() {
        return stats().derivedDropped;
      },
      get elsewhere() {
        return stats().elsewhere;
      },
    };
    this._stopMetrics = observeSelfMetrics(provider, CONVERSION_METRICS, source, { signal: this._signal });
  }

  private _followGlobalMeterProvider(): void {
    const global = metrics.getMeterProvider();
    if (global !== this._meterProvider) this._reportMetricsTo(global, false);
  }

  /** Pick FlagSync events out of the items and queue them (through `this._handle`). */
  protected abstract _convert(items: readonly Item[]): void;

  /**
   * Converts and queues; the callback does not wait for FlagSync, so a slow FlagSync never holds
   * up the app's processor. It reports failure when items had to be dropped (queue full, or not
   * convertible), so the SDK's own processor metrics see them. Delivery and retries are the engine's.
   */
  export(items: Item[], resultCallback: (result: ExportResult) => void): void {
    if (this._isShutdown) {
      resultCallback({ code: EXPORT_FAILED, error: new Error(`${this.constructor.name} is shut down`) });
      return;
    }
    this._lost = 0;
    if (!this._explicitMeterProvider) this._followGlobalMeterProvider();
    // The app's sampler, for derived events: looked up here, as the SDK registers its provider late.
    if (this._derived.rules.length > 0) this._derived.samplingProbability = appSamplerProbability();
    try {
      this._convert(items);
    } catch (error) {
      resultCallback({ code: EXPORT_FAILED, error: error instanceof Error ? error : new Error(String(error)) });
      return;
    }
    if (this._lost > 0) {
      resultCallback({
        code: EXPORT_FAILED,
        error: new Error(`${this._lost} FlagSync items dropped (queue full or not convertible); see stats()`),
      });
    } else {
      resultCallback({ code: EXPORT_SUCCESS });
    }
  }

  /** Deliver what is queued, within the shutdown timeout. */
  async forceFlush(): Promise<void> {
    await this._lease.engine.forceFlush();
  }

  /** Deliver what is queued within the shutdown timeout, then stop; the rest is reported. */
  async shutdown(): Promise<void> {
    this._isShutdown = true;
    this._unregister();
    await this._lease.release();
    this._stopMetrics?.();
  }

  /** Delivery counts are those of the engine this exporter shares with others of the same settings. */
  stats(): ExporterStats {
    return {
      ...this._lease.engine.stats(),
      rejected: { ...this._rejected },
      damaged: this._damaged,
      derived: this._derivedCount,
      derivedSampled: this._derivedSampled,
      unattributed: this._lease.traces.unattributed,
      derivedDropped: { ...this._lease.traces.dropped },
      elsewhere: this._elsewhere,
    };
  }
}
