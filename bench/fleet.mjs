// The fleet test at scale: test/e2e/fleet.test.ts (one agent, 3 then 4 gateways, the shared
// PostgreSQL store, all real processes) with 20,000 checkout requests per scenario instead of 500,
// each scenario still checked exactly once at the FlagSync stand-in. Records the wall time of each
// scenario, from the first request sent to every item at FlagSync with every queue drained.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './spawn.mjs';
import { machine, round2, writeResult } from './lib.mjs';

const REQUESTS = Number(process.env.FLEET_REQUESTS ?? 20_000);
const results = join(ROOT, 'bench/results/fleet-scenarios.tmp.json');
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
execFileSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', 'test/e2e/fleet.test.ts'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, FLEET_REQUESTS: String(REQUESTS), FLEET_RESULTS: results },
});
const scenarios = JSON.parse(readFileSync(results, 'utf8')).map((s) => ({
  ...s,
  itemsPerSecond: round2(s.items / s.seconds),
}));
rmSync(results);
writeResult('fleet', { requests: REQUESTS, scenarios, ran: machine() });
for (const s of scenarios) console.log(`${s.name}: ${s.items} items in ${s.seconds} s (${s.itemsPerSecond}/s)`);
