/**
 * drove's Memcached store next to (a) the same meta-protocol commands sent over a bare socket by a
 * minimal pipelined parser, and (b) memjs, the common binary-protocol client (get / set / touch:
 * memjs has no CAS, so its "conditional write" is a plain set). Same keys, same 1 KB values, same
 * concurrency, in the same run, on a private memcached. Reports ops/s, p50 and p99 per operation
 * and the drove/raw and drove/memjs throughput ratios.
 *
 *   npm run build && npm --prefix bench run stores:memcached [-- --seconds 2 --rounds 3]
 */
import { createConnection, type Socket } from 'node:net';
import memjs from 'memjs';
import { createStore } from '../../dist/stores/index.js';
import type { Store } from '../../dist/stores/types.js';
import { startMemcached } from '../../test/helpers/memcached.js';
import { flag, measure, percentile, type Sample } from './sql-harness.js';

const SECONDS = flag('seconds', 2);
const ROUNDS = flag('rounds', 3);
const CONCURRENCIES = [1, 32];
const VALUE = Buffer.alloc(1024, 'x'); // a session of about 1 KB
const TTL_S = 600;
const PREFIX = 'bench:';

/** The baseline: meta commands on one bare socket, replies matched in order, nothing else. */
class BareMeta {
  private readonly socket: Socket;
  private readonly waiting: ((reply: { line: string; value?: Buffer }) => void)[] = [];
  private buffer = Buffer.alloc(0);
  private corked = false;
  constructor(port: number) {
    this.socket = createConnection({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }
  send(line: string, data?: Buffer): Promise<{ line: string; value?: Buffer }> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      // Same batching as drove's client: one segment per tick for pipelined commands.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      this.socket.write(`${line}\r\n`);
      if (data) {
        this.socket.write(data);
        this.socket.write(CRLF);
      }
    });
  }
  private onData(chunk: Buffer): void {
    let buf = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(CRLF);
      if (end < 0) break;
      const line = buf.toString('latin1', 0, end);
      if (line.startsWith('VA ')) {
        const size = Number(line.split(' ')[1]);
        if (buf.length < end + 2 + size + 2) break;
        const value = buf.subarray(end + 2, end + 2 + size);
        buf = buf.subarray(end + 2 + size + 2);
        this.waiting.shift()!({ line, value });
      } else {
        buf = buf.subarray(end + 2);
        this.waiting.shift()!({ line });
      }
    }
    this.buffer = buf;
  }
  close(): void {
    this.socket.destroy();
  }
}
const CRLF = Buffer.from('\r\n');

function operations(store: Store, bare: BareMeta, mj: memjs.Client) {
  const key = (w: number) => `w${w}`;
  const versions = new Map<number, string>();
  const casOf = new Map<number, string>();
  return {
    read: {
      drove: (w: number) => store.get(key(w)),
      raw: (w: number) => bare.send(`mg ${PREFIX}${key(w)} v c t f`),
      memjs: (w: number) => mj.get(`${PREFIX}${key(w)}`),
    },
    'conditional write': {
      drove: async (w: number) => {
        const r = await store.update(key(w), VALUE, {
          version: versions.get(w)!,
          ttlMs: TTL_S * 1000,
        });
        if (!r.ok) throw new Error(`drove update refused: ${r.reason}`);
        versions.set(w, r.version);
      },
      raw: async (w: number) => {
        const r = await bare.send(
          `ms ${PREFIX}${key(w)} ${VALUE.length} T${TTL_S} F0 C${casOf.get(w)} c`,
          VALUE,
        );
        if (!r.line.startsWith('HD')) throw new Error(`raw ms refused: ${r.line}`);
        casOf.set(w, r.line.split(' c')[1]!);
      },
      memjs: (w: number) => mj.set(`${PREFIX}${key(w)}`, VALUE, { expires: TTL_S }),
    },
    touch: {
      drove: (w: number) => store.touch(key(w), TTL_S * 1000),
      raw: (w: number) => bare.send(`mg ${PREFIX}${key(w)} T${TTL_S} f t`),
      memjs: (w: number) => mj.touch(`${PREFIX}${key(w)}`, TTL_S),
    },
    /** (Re)write every worker's entry and remember its version for the conditional writes. */
    async seed(workers: number) {
      for (let w = 0; w < workers; w++) {
        await store.delete(key(w));
        await bare.send(`md ${PREFIX}${key(w)}`);
        const created = await store.create(key(w), VALUE, { ttlMs: TTL_S * 1000 });
        if (!created.ok) throw new Error(`seed failed: ${created.reason}`);
        versions.set(w, created.version);
        casOf.set(w, created.version);
      }
    },
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sides = ['drove', 'raw', 'memjs'] as const;

console.log(
  `drove Memcached store vs bare meta commands vs memjs, ${SECONDS}s × ${ROUNDS} rounds per cell, 1 KB values, Node ${process.version}`,
);
console.log(
  '| operation | concurrency | drove ops/s | drove p50 / p99 µs | raw meta ops/s | raw p50 / p99 µs | memjs ops/s | memjs p50 / p99 µs | drove/raw | drove/memjs |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');

const server = await startMemcached();
const store = createStore(`memcached://127.0.0.1:${server.port}`, { prefix: PREFIX });
const bare = new BareMeta(server.port);
const mj = memjs.Client.create(`127.0.0.1:${server.port}`, { logger: { log: () => {} } });
try {
  await store.ready();
  const ops = operations(store, bare, mj);
  const workers = Math.max(...CONCURRENCIES);
  await ops.seed(workers);
  for (const opName of ['read', 'conditional write', 'touch'] as const) {
    const set = ops[opName];
    for (const concurrency of CONCURRENCIES) {
      const results = { drove: [] as Sample[], raw: [] as Sample[], memjs: [] as Sample[] };
      for (const side of sides) {
        if (opName === 'conditional write') await ops.seed(workers);
        await measure(set[side], concurrency); // warm-up
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate the order so drift on this shared 2-core machine hits every side.
        const order = [...sides.slice(round % 3), ...sides.slice(0, round % 3)];
        for (const side of order) {
          if (opName === 'conditional write') await ops.seed(workers);
          results[side].push(await measure(set[side], concurrency));
        }
      }
      const summary = (samples: Sample[]) => {
        const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
        const opsPerSec = samples.map((s) => s.ops).sort((a, b) => a - b);
        return {
          ops: opsPerSec[Math.floor(opsPerSec.length / 2)]!, // median round
          cell: `${percentile(all, 0.5).toFixed(0)} / ${percentile(all, 0.99).toFixed(0)}`,
        };
      };
      const d = summary(results.drove);
      const r = summary(results.raw);
      const m = summary(results.memjs);
      console.log(
        `| ${opName} | ${concurrency} | ${fmt(d.ops)} | ${d.cell} | ${fmt(r.ops)} | ${r.cell} | ${fmt(m.ops)} | ${m.cell} | ${(d.ops / r.ops).toFixed(2)} | ${(d.ops / m.ops).toFixed(2)} |`,
      );
    }
  }
} finally {
  bare.close();
  mj.close();
  await store.close();
  await server.stop();
}
