/**
 * The public API is what the package's entry points export: each name is a compatibility promise.
 * This lists every exported name of the built declarations (dist/*.d.ts, as users' compilers see
 * them): a name added or removed by accident fails here. Run after the build (npm test builds).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const PUBLIC_API: Record<string, string[]> = {
  // Browser-safe: the wrapper, the browser guard, and their types.
  'index.d.ts': [
    'ContextAttributeFilter',
    'DeliverySetting',
    'EventSignal',
    'FlagSyncEvent',
    'FlagSyncImpression',
    'FlagSyncInstrumentationOptions',
    'FlagSyncSdkContext',
    'FlagSyncUserContext',
    'GuardStats',
    'HandoverStats',
    'InstrumentationStats',
    'JsonValue',
    'NoRecordingSpanBehavior',
    'RecorderStats',
    'ReturnReason',
    'SdkDeliveryReason',
    'getInstrumentationStats',
    'installBrowserSdkDeliveryGuard',
    'instrumentFlagSyncClient',
    'sdkDeliveryGuardStats',
  ],
  'instrumentation.d.ts': [
    'FlagSyncInstrumentation',
    'FlagSyncInstrumentationConfig',
    'InstallGuardResult',
    'installSdkDeliveryGuard',
  ],
  'exporters.d.ts': [
    'AttributeCondition',
    'ConverterOptions',
    'DeliveryStats',
    'DerivedEventRule',
    'DerivedEventsConfig',
    'DerivedEventsPreset',
    'DerivedEventsSetting',
    'ExporterStats',
    'FlagSyncConfigError',
    'FlagSyncDeliveryOptions',
    'FlagSyncExporterOptions',
    'FlagSyncLogRecordExporter',
    'FlagSyncSpanExporter',
    'LaneStats',
    'LogRecordLike',
    'PresetName',
    'SpanKindName',
    'SpanLike',
    'SpanStatusName',
  ],
  'testing.d.ts': [
    'Fault',
    'FlagDef',
    'ReceivedBatch',
    'Rejection',
    'STANDIN_DEFAULT_SDK_KEY',
    'STANDIN_FLAGS',
    'StandIn',
    'StandInOptions',
    'VariantDef',
    'startStandIn',
  ],
};

function exportedNames(file: string): string[] {
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  return checker
    .getExportsOfModule(checker.getSymbolAtLocation(source)!)
    .map((s) => s.getName())
    .sort();
}

describe('public API (built declarations)', () => {
  it('the package exports these entry points and no others', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as {
      exports: Record<string, unknown>;
    };
    expect(Object.keys(pkg.exports).sort()).toEqual([
      '.',
      './exporters',
      './instrumentation',
      './package.json',
      './testing',
    ]);
  });

  it.each(Object.entries(PUBLIC_API))(
    '%s exports exactly its public names (ESM and CommonJS declarations alike)',
    (file, names) => {
      expect(existsSync(dist + file), 'build first (npm test does)').toBe(true);
      expect(exportedNames(dist + file)).toEqual([...names].sort());
      expect(exportedNames(dist + file.replace('.d.ts', '.d.cts'))).toEqual([...names].sort());
    },
  );
});
