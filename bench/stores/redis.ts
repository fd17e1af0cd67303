/**
 * drove's Redis store next to the raw ioredis client issuing the same commands (EVALSHA of the
 * same Lua scripts, same keys, same values), in the same run, on a private redis-server (and a
 * private 3-master Redis Cluster unless --no-cluster). Reports ops/s, p50 and p99 per operation,
 * the drove/raw throughput ratio and this process's CPU time per operation for each side.
 *
 *   npm run build && npm --prefix bench run stores:redis [-- --seconds 2 --rounds 3 --no-cluster]
 */
import { Cluster, Redis } from 'ioredis';
import { createStore } from '../../dist/stores/index.js';
import { SCRIPTS } from '../../dist/stores/redis-scripts.js';
import type { Store } from '../../dist/stores/types.js';
import { startRedis, startRedisCluster } from '../../test/helpers/redis.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SECONDS = flag('seconds', 2);
const ROUNDS = flag('rounds', 3);
const CONCURRENCIES = [1, 32];
const SLICE_MS = 100;
const VALUE = Buffer.alloc(1024, 'x'); // a session of about 1 KB
const TTL = 600_000;
const PREFIX = 'bench:';

type Op = (worker: number) => Promise<unknown>;
interface Tally {
  ops: number;
  ms: number;
  /** This process's CPU time (user + system), µs: less sensitive to a busy machine than wall time. */
  cpuUs: number;
  latencies: number[];
}

/** Run `op` from `concurrency` loops for `ms`, adding ops, time and latencies (µs) to `tally`. */
async function slice(op: Op, concurrency: number, ms: number, tally: Tally): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(worker);
        tally.latencies.push((performance.now() - t) * 1000);
        tally.ops++;
      }
    }),
  );
  tally.ms += performance.now() - started;
  const used = process.cpuUsage(cpu);
  tally.cpuUs += used.user + used.system;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

type RawClient = (Redis | Cluster) & Record<string, (...a: unknown[]) => Promise<unknown>>;

/** The same operations through drove and through the raw client (each on keys of its own). */
function operations(store: Store, raw: RawClient) {
  const droveKey = (w: number) => `w${w}`;
  const rawEntry = (w: number) => `${PREFIX}e:r${w}`;
  const droveVersions = new Map<number, string>();
  const rawVersions = new Map<number, string>();
  let rawCounter = 0;
  return {
    read: {
      drove: (w: number) => store.get(droveKey(w)),
      raw: (w: number) => raw.hmgetBuffer(rawEntry(w), 'v', 'ver', 'own', 'exp'),
    },
    'conditional write': {
      drove: async (w: number) => {
        const r = await store.update(droveKey(w), VALUE, {
          version: droveVersions.get(w)!,
          ttlMs: TTL,
        });
        if (!r.ok) throw new Error(`drove update refused: ${r.reason}`);
        droveVersions.set(w, r.version);
      },
      raw: async (w: number) => {
        const next = `raw${++rawCounter}`;
        const [outcome] = (await raw.droveUpdate(
          rawEntry(w),
          VALUE,
          rawVersions.get(w)!,
          next,
          TTL,
          '',
          Date.now() + TTL,
        )) as [string];
        if (outcome !== 'ok') throw new Error(`raw update refused: ${outcome}`);
        rawVersions.set(w, next);
      },
    },
    touch: {
      drove: (w: number) => store.touch(droveKey(w), TTL),
      raw: (w: number) => raw.droveTouch(rawEntry(w), TTL, Date.now() + TTL),
    },
    async seed(workers: number) {
      for (let w = 0; w < workers; w++) {
        for (const key of [`w${w}`, `r${w}`]) {
          await raw.del(`${PREFIX}e:${key}`);
          const created = await store.create(key, VALUE, { ttlMs: TTL });
          if (!created.ok) throw new Error(`seed failed: ${created.reason}`);
          (key.startsWith('w') ? droveVersions : rawVersions).set(w, created.version);
        }
      }
    },
  };
}

async function bench(label: string, store: Store, raw: RawClient): Promise<void> {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    raw.defineCommand(name, { numberOfKeys: 1, lua });
  }
  await store.ready();
  const ops = operations(store, raw);
  await ops.seed(Math.max(...CONCURRENCIES));
  for (const opName of ['read', 'conditional write', 'touch'] as const) {
    const pair = ops[opName];
    for (const concurrency of CONCURRENCIES) {
      const fresh = (): Tally => ({ ops: 0, ms: 0, cpuUs: 0, latencies: [] });
      await slice(pair.raw, concurrency, 300, fresh()); // warm-up: JIT, script cache
      await slice(pair.drove, concurrency, 300, fresh());
      const tally = { drove: fresh(), raw: fresh() };
      // Many short slices, alternating sides and order, so that the drift of this shared
      // 2-core machine hits both sides alike.
      const slices = Math.round((SECONDS * ROUNDS * 1000) / SLICE_MS);
      for (let i = 0; i < slices; i++) {
        const order = i % 2 === 0 ? (['drove', 'raw'] as const) : (['raw', 'drove'] as const);
        for (const side of order) await slice(pair[side], concurrency, SLICE_MS, tally[side]);
      }
      const summary = (t: Tally) => {
        const sorted = t.latencies.sort((a, b) => a - b);
        return {
          ops: (t.ops * 1000) / t.ms,
          cpu: t.cpuUs / t.ops,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
        };
      };
      const d = summary(tally.drove);
      const r = summary(tally.raw);
      console.log(
        `| ${label} | ${opName} | ${concurrency} | ${fmt(d.ops)} | ${d.p50.toFixed(0)} / ${d.p99.toFixed(0)} | ${fmt(r.ops)} | ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} | ${(d.ops / r.ops).toFixed(2)} | ${d.cpu.toFixed(1)} / ${r.cpu.toFixed(1)} |`,
      );
    }
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(
  `drove Redis store vs raw ioredis: ${SECONDS * ROUNDS}s per side per cell in ${SLICE_MS} ms alternating slices, 1 KB values, Node ${process.version}`,
);
console.log(
  '| target | operation | concurrency | drove ops/s | drove p50 / p99 µs | raw ops/s | raw p50 / p99 µs | drove/raw ops | client CPU µs/op drove / raw |',
);
console.log('|---|---|---|---|---|---|---|---|---|');

const server = await startRedis();
try {
  const store = createStore(server.url, { prefix: PREFIX });
  const raw = new Redis(server.url) as RawClient;
  try {
    await bench('standalone', store, raw);
  } finally {
    raw.disconnect();
    await store.close();
  }
} finally {
  await server.stop();
}

if (!args.includes('--no-cluster')) {
  const cluster = await startRedisCluster();
  try {
    const store = createStore(cluster.url, { prefix: PREFIX });
    const raw = new Cluster(cluster.nodes) as unknown as RawClient;
    try {
      await bench('cluster', store, raw);
    } finally {
      raw.disconnect();
      await store.close();
    }
  } finally {
    await cluster.stop();
  }
}
