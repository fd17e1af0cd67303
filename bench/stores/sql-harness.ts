/**
 * The measuring loop shared by the SQLite and PostgreSQL store benchmarks: the same three
 * operations through drove and through the raw client, alternating sides per round, reporting
 * ops/s (median round), p50/p99 latency and the drove/raw throughput ratio as a Markdown table.
 */
export type Op = (worker: number) => unknown;
export interface Pair {
  drove: Op;
  raw: Op;
}
export interface Operations {
  read: Pair;
  'conditional write': Pair;
  touch: Pair;
  /** (Re)create the per-worker entries and reset both sides' versions. */
  seed(workers: number): Promise<void>;
}

const args = process.argv.slice(2);
export const flag = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SECONDS = flag('seconds', 2);
const ROUNDS = flag('rounds', 3);

export interface Sample {
  ops: number;
  latencies: number[];
}

/** Run `op` from `concurrency` loops for SECONDS; count ops and record every latency (µs). */
export async function measure(op: Op, concurrency: number): Promise<Sample> {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(worker);
        latencies.push((performance.now() - t) * 1000);
      }
    }),
  );
  return { ops: latencies.length / SECONDS, latencies };
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function summary(samples: Sample[]) {
  const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const perRound = samples.map((s) => s.ops).sort((a, b) => a - b);
  return {
    ops: perRound[Math.floor(perRound.length / 2)]!,
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
  };
}

export function printHeader(title: string, rawName: string): void {
  console.log(
    `${title}: ${SECONDS}s × ${ROUNDS} rounds per cell, 1 KB values, Node ${process.version}`,
  );
  console.log(
    `| target | operation | concurrency | drove ops/s | drove p50 / p99 µs | ${rawName} ops/s | ${rawName} p50 / p99 µs | drove/raw |`,
  );
  console.log('|---|---|---|---|---|---|---|---|');
}

/** Measure every operation at every concurrency and print one table row per cell. */
export async function bench(
  label: string,
  ops: Operations,
  concurrencies: number[],
): Promise<void> {
  const workers = Math.max(...concurrencies);
  for (const name of ['read', 'conditional write', 'touch'] as const) {
    const pair = ops[name];
    for (const concurrency of concurrencies) {
      await ops.seed(workers);
      await measure(pair.raw, concurrency); // warm-up: JIT, prepared statements, page cache
      await measure(pair.drove, concurrency);
      const results = { drove: [] as Sample[], raw: [] as Sample[] };
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the order so drift on this shared 2-core machine hits both sides.
        const order = round % 2 === 0 ? (['drove', 'raw'] as const) : (['raw', 'drove'] as const);
        for (const side of order) {
          await ops.seed(workers);
          results[side].push(await measure(pair[side], concurrency));
        }
      }
      const d = summary(results.drove);
      const r = summary(results.raw);
      console.log(
        `| ${label} | ${name} | ${concurrency} | ${fmt(d.ops)} | ${d.p50.toFixed(0)} / ${d.p99.toFixed(0)} | ${fmt(r.ops)} | ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} | ${(d.ops / r.ops).toFixed(2)} |`,
      );
    }
  }
}
