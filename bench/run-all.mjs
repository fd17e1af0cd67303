// `npm run bench`: every benchmark, one after another, each comparing drove with the real
// alternative in the same run. Figures go to ../docs/benchmarks.md by hand, with the command.
import { spawnSync } from 'node:child_process';

const suites = [
  'stores:sql',
  'stores:redis',
  'stores:memcached',
  'session',
  'balancer',
  'assets',
  'scratch',
  'digest',
];
let failed = 0;
for (const suite of suites) {
  console.log(`\n=== npm --prefix bench run ${suite}\n`);
  const result = spawnSync('npm', ['run', suite], { cwd: import.meta.dirname, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
