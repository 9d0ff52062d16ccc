/**
 * A LogRecordExporter for the log-based form: records whose `eventName` is
 * `feature_flag.evaluation` or `flagsync.track` become FlagSync impressions and events. Its
 * evaluations also count for the span exporter's derived events (they share the trace memory).
 */
import { convertLogRecords, type LogRecordLike } from '../convert/sources.js';
import { FlagSyncExporterBase, type FlagSyncExporterOptions } from './exporter-base.js';

export class FlagSyncLogRecordExporter extends FlagSyncExporterBase<LogRecordLike> {
  constructor(options: FlagSyncExporterOptions = {}) {
    super(options, 'log-exporter', 'logs');
  }

  protected _convert(records: readonly LogRecordLike[]): void {
    convertLogRecords(this._converter, records, this._handle, this._derived, this._handleDerived);
  }
}
