// Requests/s of a node:http handler with and without drove's per-request scratch space, and of
// drove's scratch file vs the hand-rolled mkdtemp + rm -rf it replaces. Same run, same machine.
// Usage: node scratch/run.mjs [seconds=5] [connections=20]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const duration = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 20);

async function measure(mode) {
  const child = spawn(process.execPath, [new URL('./server.mjs', import.meta.url).pathname, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [port] = await once(createInterface({ input: child.stdout }), 'line');
  const url = `http://127.0.0.1:${port}/`;
  await autocannon({ url, connections, duration: 1 }); // warm-up
  const result = await autocannon({ url, connections, duration });
  child.kill();
  await once(child, 'exit');
  return {
    mode,
    rps: Math.round(result.requests.average),
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

const results = {};
for (const mode of ['plain', 'scratch', 'mkdtemp', 'scratch-file']) {
  results[mode] = await measure(mode);
  console.log(results[mode]);
}
console.log(`scratch (no disk) / plain:  ${(results.scratch.rps / results.plain.rps).toFixed(2)}`);
console.log(
  `scratch-file / mkdtemp:     ${(results['scratch-file'].rps / results.mkdtemp.rps).toFixed(2)}`,
);
