import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // Library entry points: ESM + CJS + .d.ts. `index` stays free of Node imports (browser bundles).
    entry: {
      index: 'src/index.ts',
      instrumentation: 'src/instrumentation.ts',
      exporters: 'src/exporters.ts',
      testing: 'src/testing.ts',
      // For the benchmarks only; not in package.json exports.
      internal: 'src/internal.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node22',
    platform: 'neutral',
    external: [/^node:/, /^@opentelemetry\//, 'undici', /^@noble\//],
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node22',
    platform: 'node',
    external: [/^@opentelemetry\//, 'undici', /^@flagsync\//],
  },
]);
