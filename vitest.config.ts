import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One process per file: node-sdk keeps a module-level HTTP client, and OTel globals are per process.
    pool: 'forks',
    isolate: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/utils/summary-reporter.ts'],
  },
});
