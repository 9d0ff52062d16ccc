/**
 * A LogRecordExporter for the log-based form: records whose `eventName` is
 * `feature_flag.evaluation` or `flagsync.track` become FlagSync impressions and events. Its
 * evaluations also count for the span exporter's derived events (they share the trace memory).
 */
import { ATTR_FLAGSYNC_CALL_ID } from '../conventions.js';
import type { ConversionOutcome } from '../convert/converter.js';
import { convertLogRecords, type LogRecordLike } from '../convert/sources.js';
import { claimFor } from '../instrumentation/handover.js';
import { FlagSyncExporterBase, isHandedToExporter, type FlagSyncExporterOptions } from './exporter-base.js';

export class FlagSyncLogRecordExporter extends FlagSyncExporterBase<LogRecordLike> {
  constructor(options: FlagSyncExporterOptions = {}) {
    super(options, 'log-exporter', 'logs');
  }

  /** A log-based event's FlagSync fields are in its body, with the call id its call is found by. */
  private readonly _onRecord = (outcome: ConversionOutcome, record: LogRecordLike): void => {
    const body =
      typeof record.body === 'object' && record.body !== null ? (record.body as Record<string, unknown>) : {};
    this._handle(outcome, body, isHandedToExporter(body) ? claimFor(body[ATTR_FLAGSYNC_CALL_ID], body) : undefined);
  };

  protected _convert(records: readonly LogRecordLike[]): void {
    convertLogRecords(this._converter, records, this._onRecord, this._derived, this._handleDerived);
  }
}
