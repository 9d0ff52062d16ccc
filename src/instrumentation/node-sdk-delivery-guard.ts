/**
 * Node side of the delivery handover: guards the axios copies the FlagSync SDKs actually load
 * (an SDK counts as covered, so its calls may be handed over, only once every copy it can load is
 * guarded), and patches every copy of `@opentelemetry/otlp-exporter-base` the app loads, for
 * collector mode's receipts.
 */
import { diag } from '@opentelemetry/api';
import { state } from './claims.js';
import { entryFiles, loadEntry, packageCopies } from './node-modules.js';
import { guardOtlpExporterBase } from './otlp-receipts.js';
import { watchFlagRules } from './flag-definitions.js';
import { guardAxios, guardFetch } from './sdk-delivery-guard.js';

const SDKS = [
  { name: '@flagsync/node-sdk', kind: 'server' },
  { name: '@flagsync/js-sdk', kind: 'client' },
] as const;

/** Packages that bring `@opentelemetry/otlp-exporter-base` (NodeSDK builds its exporters from env with them). */
const OTLP_EXPORTERS = [
  '@opentelemetry/sdk-node',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/exporter-logs-otlp-http',
  '@opentelemetry/exporter-logs-otlp-proto',
  '@opentelemetry/exporter-logs-otlp-grpc',
];

export interface InstallGuardResult {
  /** What is now guarded: `globalThis.fetch` and axios module files. */
  guarded: string[];
  /** SDKs whose calls this package may now hand over to a pipeline. */
  covered: ('@flagsync/node-sdk' | '@flagsync/js-sdk')[];
  /** `@opentelemetry/otlp-exporter-base` module files whose exports now give receipts (collector mode). */
  otlpReceipts: string[];
}

/**
 * Guard the axios copies used by every installed FlagSync SDK, and take receipts from the app's
 * OTLP exporters. Resolves from the app's working directory and from this package (or `from`).
 * Safe to call more than once.
 */
export async function installSdkDeliveryGuard(options: { from?: string[] } = {}): Promise<InstallGuardResult> {
  const guarded: string[] = [];
  const covered: InstallGuardResult['covered'] = [];
  const fetchGuarded = guardFetch();
  if (fetchGuarded) guarded.push('globalThis.fetch');
  for (const sdk of SDKS) {
    const dirs = packageCopies('axios', [sdk.name], options.from);
    if (dirs.size === 0) continue;
    let all = true;
    for (const dir of dirs) {
      for (const entry of entryFiles(dir)) {
        if (guarded.includes(entry.file)) continue;
        try {
          const axios = await loadEntry(entry);
          // The same copies carry node-sdk's flag definitions (variant names and reasons of served values).
          if (sdk.kind === 'server') watchFlagRules(axios);
          if (guardAxios(axios)) guarded.push(entry.file);
          else all = false;
        } catch (error) {
          all = false;
          diag.debug(`could not load ${entry.file} to guard SDK delivery: ${String(error)}`);
        }
      }
    }
    // js-sdk also flushes with fetch (kill(), page hide).
    if (all && (sdk.kind === 'server' || fetchGuarded)) {
      state.guarded[sdk.kind] = true;
      covered.push(sdk.name);
    }
  }
  if (covered.length === 0) {
    diag.warn(
      'no FlagSync SDK found to guard; the SDK delivers every call itself and this package records them as ' +
        'telemetry only',
    );
  }
  return { guarded, covered, otlpReceipts: await installOtlpReceipts(options.from) };
}

async function installOtlpReceipts(from: string[] | undefined): Promise<string[]> {
  const patched: string[] = [];
  for (const dir of packageCopies('@opentelemetry/otlp-exporter-base', OTLP_EXPORTERS, from)) {
    for (const entry of entryFiles(dir)) {
      try {
        if (guardOtlpExporterBase(await loadEntry(entry))) patched.push(entry.file);
      } catch (error) {
        diag.debug(`could not load ${entry.file} to take OTLP export receipts: ${String(error)}`);
      }
    }
  }
  return patched;
}
