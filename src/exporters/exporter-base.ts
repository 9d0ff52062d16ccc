/** Converter + delivery engine + rejection accounting: what both in-process exporters share. */
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resolveDeliveryConfig, type FlagSyncDeliveryOptions } from '../config/delivery-config.js';
import { createConverter, type ConversionOutcome, type Converter, type ConverterOptions } from '../convert/converter.js';
import { DeliveryEngine, type DeliveryStats } from '../delivery/delivery-engine.js';
import { ThrottledLog } from '../delivery/throttled-log.js';
import type { Transport } from '../delivery/transport.js';

export interface FlagSyncExporterOptions extends FlagSyncDeliveryOptions, ConverterOptions {
  /** Replace the HTTP transport (tests). */
  transport?: Transport;
}

export interface ExporterStats extends DeliveryStats {
  /** FlagSync events that could not be converted, by reason. */
  rejected: Record<string, number>;
}

export abstract class FlagSyncExporterBase<Item> {
  protected readonly _converter: Converter;
  protected readonly _engine: DeliveryEngine;
  protected readonly _log: ThrottledLog;
  protected readonly _handle: (outcome: ConversionOutcome) => void;
  private readonly _rejected: Record<string, number> = {};
  private _isShutdown = false;

  constructor(options: FlagSyncExporterOptions, component: string) {
    this._converter = createConverter(options);
    this._engine = new DeliveryEngine(resolveDeliveryConfig(options), options.transport);
    this._log = new ThrottledLog(diag.createComponentLogger({ namespace: `flagsync-otel/${component}` }));
    this._handle = (outcome) => {
      switch (outcome.kind) {
        case 'impression':
        case 'event':
          this._engine.add(outcome);
          break;
        case 'rejected':
          this._rejected[outcome.reason] = (this._rejected[outcome.reason] ?? 0) + 1;
          this._log.log('warn', outcome.reason, `FlagSync event not converted: ${outcome.reason}`);
          break;
      }
    };
  }

  /** Pick FlagSync events out of the items and queue them (through `this._handle`). */
  protected abstract _convert(items: readonly Item[]): void;

  /**
   * Converts and queues; the callback does not wait for FlagSync, so a slow FlagSync never holds
   * up the app's processor. Delivery, retries and drops are the engine's (see stats()).
   */
  export(items: Item[], resultCallback: (result: ExportResult) => void): void {
    if (this._isShutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error(`${this.constructor.name} is shut down`) });
      return;
    }
    try {
      this._convert(items);
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** Deliver what is queued, within the shutdown timeout. */
  async forceFlush(): Promise<void> {
    await this._engine.forceFlush();
  }

  /** Deliver what is queued within the shutdown timeout, then stop; the rest is reported. */
  shutdown(): Promise<void> {
    this._isShutdown = true;
    return this._engine.shutdown();
  }

  stats(): ExporterStats {
    return { ...this._engine.stats(), rejected: { ...this._rejected } };
  }
}
