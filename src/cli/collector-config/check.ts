/**
 * `doctor --collector-config FILE`: whether a collector configuration gets FlagSync's events to FlagSync, in one of
 * the three shapes this package ships: the flagsync exporter in the collector (collector-config.yaml), the FlagSync
 * gateway (collector-config.gateway.yaml), or a stock collector forwarding to the gateway
 * (collector-config.stock-to-gateway.yaml).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { type AddLine, collectorConfig, isMap, shipped, typeOf } from './config.js';
import { checkFlagSyncPipelines } from './flagsync-pipelines.js';
import { checkForwarding, forwardingPipelines } from './forwarding.js';

/** `file` is read; `name` (the path as the user gave it) begins every line. */
export function checkCollectorConfig(file: string, name: string, delivery: string | undefined, add: AddLine): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    add(
      'fail',
      `${name}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'give the path (from this folder) of the configuration file the collector runs with',
    );
    return;
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `line ${first.linePos[0].line}: ` : '';
    add(
      'fail',
      `${name}: not valid YAML (${where}${first.message.split('\n')[0]})`,
      'fix the YAML; the collector refuses it too',
    );
    return;
  }
  const root = doc.toJS() as unknown;
  const config = collectorConfig(name, isMap(root) ? root : {});
  const flagsyncExporters = Object.keys(config.exporters).filter((id) => typeOf(id) === 'flagsync');
  if (flagsyncExporters.length > 0) {
    checkFlagSyncPipelines(config, flagsyncExporters, delivery, add);
    return;
  }
  const forwarding = forwardingPipelines(config);
  if (forwarding.length > 0) {
    checkForwarding(config, forwarding, delivery, add);
    return;
  }
  add(
    'fail',
    `${name}: no exporter of type flagsync, and no pipeline forwarding FlagSync events to the FlagSync gateway: ` +
      'this collector delivers nothing to FlagSync',
    'add the flagsync exporter and the traces/flagsync and logs/flagsync pipelines of ' +
      `${shipped('collector-config.yaml')} (a collector built with collector/manifest.yaml); ` +
      'on a stock image forward to the FlagSync gateway ' +
      '(collector-config.stock-to-gateway.yaml)',
  );
  if (delivery === 'collector') {
    add(
      'fail',
      'FLAGSYNC_DELIVERY=collector, but this collector does not deliver to FlagSync: its receipts would lose calls',
      'unset FLAGSYNC_DELIVERY until the collector has the FlagSync pipelines',
    );
  }
}
