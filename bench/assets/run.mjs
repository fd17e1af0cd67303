// Assets benchmark: requests/s serving one ~100 KiB content-hashed asset with drove's handler
// (node:http, Express and Fastify adapters) vs serve-static (Express) and @fastify/static, all in
// the same run, in interleaved rounds. Each server runs in its own process; autocannon runs here.
//
//   npm run build            # in the repository root: the drove servers load dist/
//   npm --prefix bench run assets [-- --rounds 6 --duration 4 --connections 20]
//
// Results: a table on stdout and bench/results/assets.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { buildAssets } from 'drovejs/assets';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '20' },
  },
});
const rounds = Number(opts.rounds);
const duration = Number(opts.duration);
const connections = Number(opts.connections);

// A project with one entry whose build output is ~100 KiB: a large string constant (incompressible
// enough to stay large, text so brotli/gzip still help a little).
const root = mkdtempSync(path.join(tmpdir(), 'drove-bench-assets-'));
mkdirSync(path.join(root, 'src'));
let seed = 1;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const words = Array.from({ length: 14_600 }, () => Math.floor(rand() * 36 ** 6).toString(36));
writeFileSync(
  path.join(root, 'src/app.js'),
  `export const words = ${JSON.stringify(words.join(' '))};\nconsole.log(words.length);\n`,
);
writeFileSync(
  path.join(root, 'package.json'),
  JSON.stringify({ drove: { assets: { entries: { 'app.js': 'src/app.js' } } } }),
);
const { outdir, manifest } = await buildAssets({ root });
const file = manifest.entries['app.js'];
const size = manifest.files[file].size;
const url = `/assets/${file}`;

const kinds = ['drove-node', 'drove-express', 'serve-static', 'drove-fastify', 'fastify-static'];
const servers = new Map();
for (const kind of kinds) {
  const child = spawn(process.execPath, [path.join(here, 'server.mjs'), kind, outdir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  servers.set(kind, { child, base: `http://127.0.0.1:${JSON.parse(line).port}` });
}

const scenarios = {
  identity: {},
  'br,gzip': { 'accept-encoding': 'br, gzip' },
};

// Check every server answers the same bytes with immutable caching before measuring anything.
const original = readFileSync(path.join(outdir, file));
for (const [kind, { base }] of servers) {
  const res = await fetch(base + url, { headers: { 'accept-encoding': 'identity' } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200 || !body.equals(original)) throw new Error(`${kind}: wrong response`);
  if (!/immutable/.test(res.headers.get('cache-control') ?? '')) {
    throw new Error(`${kind}: no immutable cache-control`);
  }
}

const measure = (base, headers, seconds) =>
  autocannon({ url: base + url, connections, duration: seconds, headers });

const results = {};
for (const [scenario, headers] of Object.entries(scenarios)) {
  results[scenario] = Object.fromEntries(kinds.map((k) => [k, []]));
  for (const kind of kinds) await measure(servers.get(kind).base, headers, 1); // warm-up
  for (let round = 0; round < rounds; round++) {
    // Interleave, rotating the order each round so no server always goes first.
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
    for (const kind of order) {
      const r = await measure(servers.get(kind).base, headers, duration);
      if (r.errors || r.non2xx || r.timeouts) throw new Error(`${kind}: errors during the run`);
      results[scenario][kind].push({
        rps: r.requests.average,
        mbps: r.throughput.average / 2 ** 20,
        p99: r.latency.p99,
      });
      process.stderr.write(`${scenario} round ${round + 1} ${kind}: ${r.requests.average} req/s\n`);
    }
  }
}

for (const { child } of servers.values()) child.kill();
rmSync(root, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = {};
const out = [];
out.push(
  `asset: ${size} bytes (${(size / 1024).toFixed(1)} KiB), br ${manifest.files[file].br}, gz ${manifest.files[file].gz}`,
);
out.push(
  `machine: ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}; ${rounds} rounds x ${duration}s, ${connections} connections`,
);
for (const [scenario, byKind] of Object.entries(results)) {
  const med = Object.fromEntries(kinds.map((k) => [k, median(byKind[k].map((x) => x.rps))]));
  const p99 = Object.fromEntries(kinds.map((k) => [k, median(byKind[k].map((x) => x.p99))]));
  const mbps = Object.fromEntries(kinds.map((k) => [k, median(byKind[k].map((x) => x.mbps))]));
  // serve-static cannot send precompressed files: with Accept-Encoding it still sends the
  // identity text, so it is only compared in the identity scenario (autocannon also parses
  // binary bodies several times slower than text, which would flatter it further).
  const ratios = {
    'drove-fastify / fastify-static': med['drove-fastify'] / med['fastify-static'],
    'drove-node / fastify-static': med['drove-node'] / med['fastify-static'],
  };
  if (scenario === 'identity') {
    ratios['drove-express / serve-static'] = med['drove-express'] / med['serve-static'];
    ratios['drove-node / serve-static'] = med['drove-node'] / med['serve-static'];
  }
  // The machine is shared and noisy: also compare round by round (the two servers of a pair ran
  // minutes apart at most) and count how many rounds drove won.
  const perRound = {};
  for (const name of Object.keys(ratios)) {
    const [a, b] = name.split(' / ');
    const rs = byKind[a].map((x, i) => x.rps / byKind[b][i].rps);
    perRound[name] = { median: median(rs), won: rs.filter((r) => r >= 1).length, of: rs.length };
  }
  summary[scenario] = { medianRps: med, ratios, perRound };
  out.push('', `Accept-Encoding: ${scenario}`, '', '| server | req/s (median) | MiB/s | p99 ms |');
  out.push('|---|---:|---:|---:|');
  for (const k of kinds) {
    out.push(`| ${k} | ${med[k].toFixed(0)} | ${mbps[k].toFixed(1)} | ${p99[k]} |`);
  }
  out.push('');
  for (const [name, ratio] of Object.entries(summary[scenario].ratios)) {
    const pr = summary[scenario].perRound[name];
    out.push(
      `- ${name}: ${ratio.toFixed(2)}x (median of per-round ratios ${pr.median.toFixed(2)}x, drove ahead in ${pr.won}/${pr.of} rounds)`,
    );
  }
}
console.log(out.join('\n'));
mkdirSync(path.join(here, '..', 'results'), { recursive: true });
writeFileSync(
  path.join(here, '..', 'results', 'assets.json'),
  `${JSON.stringify({ size, rounds, duration, connections, results, summary }, null, 2)}\n`,
);
