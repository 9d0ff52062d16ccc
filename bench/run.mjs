// `npm run bench`: each benchmark in its own Node process (no shared JIT state), then BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const suites = [
  'instrumentation-overhead',
  'handover-cost',
  'handover-instructions',
  'receipt-registry',
  'evaluation-metrics',
  'exporter-throughput',
  'collector-side',
  'derived-rules',
  'e2e-delay',
  'memory-outage',
  'latency-outage',
  'fleet',
];
for (const suite of suites.filter((s) => only.length === 0 || only.includes(s))) {
  console.error(`== ${suite}`);
  execFileSync(process.execPath, [`${here}${suite}.mjs`], { stdio: 'inherit' });
}
execFileSync(process.execPath, [`${here}report.mjs`], { stdio: 'inherit' });
