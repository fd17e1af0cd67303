import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DroveError } from '../errors.js';
import { tryUseScratch, useScratch, withScratch } from './context.js';
import { scratchJob } from './job.js';
import { insidePath, processScratchBytes, type Scratch } from './scratch.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drove-scratch-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const entries = () => readdirSync(root);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DroveError) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('withScratch()', () => {
  it('removes the directory and forgets the maps after success', async () => {
    let seen: Scratch | undefined;
    let dir = '';
    const result = await withScratch(
      async (scratch) => {
        seen = scratch;
        dir = scratch.dir;
        await scratch.write('a.txt', 'hello');
        scratch.map.set('k', 1);
        expect(await readFile(scratch.file('a.txt'), 'utf8')).toBe('hello');
        return 42;
      },
      { dir: root },
    );
    expect(result).toBe(42);
    expect(existsSync(dir)).toBe(false);
    expect(entries()).toEqual([]);
    expect(seen!.map.size).toBe(0);
    expect(() => seen!.file('b')).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_SCRATCH_OUTSIDE' }),
    );
  });

  it('removes the directory when the callback throws, and rethrows', async () => {
    let dir = '';
    const boom = new Error('boom');
    await expect(
      withScratch(
        async (scratch) => {
          dir = scratch.dir;
          await scratch.write('x/y/z.bin', new Uint8Array(10));
          throw boom;
        },
        { dir: root },
      ),
    ).rejects.toBe(boom);
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
  });

  it('aborts via an AbortSignal: rejects with SCRATCH_ABORTED, signals the callback, removes files', async () => {
    const controller = new AbortController();
    let inner: Scratch | undefined;
    const stopped = new Promise<unknown>((resolve) => {
      void withScratch(
        async (scratch) => {
          inner = scratch;
          await scratch.write('partial', 'data');
          scratch.signal.addEventListener('abort', () => resolve(scratch.signal.reason));
          controller.abort(new Error('user cancelled'));
          await new Promise(() => {}); // never settles on its own
        },
        { dir: root, signal: controller.signal },
      ).catch((err: DroveError) => resolve(err));
    });
    const reason = (await stopped) as DroveError;
    expect(reason.code).toBe('DROVE_ERR_SCRATCH_ABORTED');
    expect(reason.message).toContain('user cancelled');
    await waitFor(() => entries().length === 0);
    expect(() => inner!.file('late')).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_SCRATCH_ABORTED' }),
    );
  });

  it('rejects at once when the signal is already aborted, creating nothing', async () => {
    const code = await codeOf(withScratch(() => 1, { dir: root, signal: AbortSignal.abort() }));
    expect(code).toBe('DROVE_ERR_SCRATCH_ABORTED');
    expect(entries()).toEqual([]);
  });

  it('times out with SCRATCH_ABORTED and removes the directory', async () => {
    let dir = '';
    const code = await codeOf(
      withScratch(
        async (scratch) => {
          dir = scratch.dir;
          await scratch.write('f', 'x');
          await new Promise((r) => setTimeout(r, 60_000).unref());
        },
        { dir: root, timeoutMs: 50 },
      ),
    );
    expect(code).toBe('DROVE_ERR_SCRATCH_ABORTED');
    expect(existsSync(dir)).toBe(false);
  });

  it('50 parallel transactions never see each other’s files or memo entries', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        withScratch(
          async (scratch) => {
            await scratch.write('same-name.txt', `tx-${i}`);
            const memo = scratch.memo('key', () => `memo-${i}`);
            scratch.map.set('who', i);
            await new Promise((r) => setTimeout(r, (i * 7) % 20));
            const files = readdirSync(scratch.dir);
            return {
              content: await readFile(scratch.file('same-name.txt'), 'utf8'),
              memo: scratch.memo('key', () => 'recomputed'),
              first: memo,
              who: useScratch().map.get('who'),
              files,
              dir: scratch.dir,
            };
          },
          { dir: root },
        ),
      ),
    );
    results.forEach((r, i) => {
      expect(r.content).toBe(`tx-${i}`);
      expect(r.memo).toBe(`memo-${i}`);
      expect(r.first).toBe(`memo-${i}`);
      expect(r.who).toBe(i);
      expect(r.files).toEqual(['same-name.txt']);
    });
    expect(new Set(results.map((r) => r.dir)).size).toBe(50);
    expect(entries()).toEqual([]);
  });
});

describe('memo()', () => {
  it('computes once per transaction and forgets rejected promises', async () => {
    await withScratch(
      async (scratch) => {
        let calls = 0;
        const a = scratch.memo('k', async () => ++calls);
        const b = scratch.memo('k', async () => ++calls);
        expect(a).toBe(b);
        expect(await a).toBe(1);
        const failing = scratch.memo('bad', () => Promise.reject(new Error('no')));
        await expect(failing).rejects.toThrow('no');
        expect(await scratch.memo('bad', async () => 'ok')).toBe('ok');
      },
      { dir: root },
    );
    let again = 0;
    await withScratch((scratch) => scratch.memo('k', () => ++again), { dir: root });
    expect(again).toBe(1);
  });
});

describe('useScratch() / tryUseScratch()', () => {
  it('throws / returns undefined outside a transaction', () => {
    expect(tryUseScratch()).toBeUndefined();
    expect(() => useScratch()).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_SCRATCH_OUTSIDE' }),
    );
  });

  it('finds the transaction across awaits and timers', async () => {
    await withScratch(
      async (scratch) => {
        await new Promise((r) => setTimeout(r, 1));
        expect(useScratch()).toBe(scratch);
        await new Promise<void>((r) =>
          setImmediate(() => {
            expect(tryUseScratch()).toBe(scratch);
            r();
          }),
        );
      },
      { dir: root },
    );
    expect(tryUseScratch()).toBeUndefined();
  });

  it('scratchJob() gives each call its own transaction', async () => {
    const dirs: string[] = [];
    const job = scratchJob(
      async (n: number) => {
        const scratch = useScratch();
        dirs.push(scratch.dir);
        await scratch.write('n', String(n));
        return n * 2;
      },
      { dir: root },
    );
    expect(await Promise.all([job(1), job(2)])).toEqual([2, 4]);
    expect(dirs[0]).not.toBe(dirs[1]);
    expect(entries()).toEqual([]);
    const failing = scratchJob(
      () => {
        throw new Error('job failed');
      },
      { dir: root },
    );
    await expect(failing()).rejects.toThrow('job failed');
  });
});

describe('quotas', () => {
  it('enforces the per-transaction quota on write() and still removes the files', async () => {
    let dir = '';
    const code = await codeOf(
      withScratch(
        async (scratch) => {
          dir = scratch.dir;
          await scratch.write('a', Buffer.alloc(600));
          await scratch.write('a', Buffer.alloc(700)); // replacing a file counts its new size only
          expect(scratch.bytesUsed).toBe(700);
          await scratch.write('b', Buffer.alloc(400));
        },
        { dir: root, maxBytes: 1000 },
      ),
    );
    expect(code).toBe('DROVE_ERR_SCRATCH_QUOTA');
    expect(existsSync(dir)).toBe(false);
    expect(processScratchBytes()).toBe(0);
  });

  it('enforces the per-transaction quota on streams and removes the partial file', async () => {
    await withScratch(
      async (scratch) => {
        const chunks = Array.from({ length: 10 }, () => Buffer.alloc(256));
        const err = await pipeline(Readable.from(chunks), scratch.createWriteStream('big')).catch(
          (e: DroveError) => e,
        );
        expect(err).toMatchObject({
          code: 'DROVE_ERR_SCRATCH_QUOTA',
          details: { scope: 'transaction', limit: 1024 },
        });
        await waitFor(() => !existsSync(scratch.file('big')));
        expect(scratch.bytesUsed).toBe(0);
        await pipeline(Readable.from([Buffer.alloc(1000)]), scratch.createWriteStream('ok'));
        expect(scratch.bytesUsed).toBe(1000);
      },
      { dir: root, maxBytes: 1024 },
    );
  });

  it('enforces the per-process quota across live transactions and releases it when they end', async () => {
    const options = { dir: root, maxBytes: 10_000, processMaxBytes: 1500 };
    let release!: () => void;
    const holding = new Promise<void>((r) => {
      release = r;
    });
    let filled!: () => void;
    const ready = new Promise<void>((r) => {
      filled = r;
    });
    const first = withScratch(async (scratch) => {
      await scratch.write('a', Buffer.alloc(1000));
      filled();
      await holding;
    }, options);
    await ready;
    expect(processScratchBytes()).toBe(1000);
    const err = await withScratch((s) => s.write('b', Buffer.alloc(600)), options).catch(
      (e: DroveError) => e,
    );
    expect(err).toMatchObject({
      code: 'DROVE_ERR_SCRATCH_QUOTA',
      details: { scope: 'process', limit: 1500 },
    });
    release();
    await first;
    expect(processScratchBytes()).toBe(0);
    await withScratch((s) => s.write('b', Buffer.alloc(600)), options);
    expect(entries()).toEqual([]);
  });

  it('remove() gives bytes back', async () => {
    await withScratch(
      async (scratch) => {
        await scratch.write('a', Buffer.alloc(900));
        await scratch.remove('a');
        expect(existsSync(scratch.file('a'))).toBe(false);
        await scratch.write('b', Buffer.alloc(900));
      },
      { dir: root, maxBytes: 1000 },
    );
  });
});

describe('file()', () => {
  it('resolves names inside the directory, sub-directories included', async () => {
    await withScratch(
      async (scratch) => {
        expect(scratch.file('a/b.txt')).toBe(join(scratch.dir, 'a', 'b.txt'));
        await scratch.write('a/b.txt', 'x');
        expect(await readFile(join(scratch.dir, 'a', 'b.txt'), 'utf8')).toBe('x');
        for (const bad of ['../x', '/etc/passwd', '', '.', 'a/../..', 'a\0b', '..']) {
          expect(() => scratch.file(bad)).toThrow(
            expect.objectContaining({ code: 'DROVE_ERR_SCRATCH_PATH' }),
          );
        }
      },
      { dir: root },
    );
  });

  it('property: any name either resolves strictly inside or throws SCRATCH_PATH', () => {
    const dir = join(root, 'tx');
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '', '/', '\\', '\0', '~', 'a', '...'),
      fc.string({ maxLength: 6 }),
    );
    const name = fc.oneof(
      fc.string(),
      fc.array(segment, { maxLength: 8 }).map((parts) => parts.join('/')),
    );
    fc.assert(
      fc.property(name, (n) => {
        let path: string;
        try {
          path = insidePath(dir, n);
        } catch (err) {
          return err instanceof DroveError && err.code === 'DROVE_ERR_SCRATCH_PATH';
        }
        return path.startsWith(`${dir}/`) && path.length > dir.length + 1;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the directory', () => {
  it('is created only when first used, and never adopted if the name already exists', async () => {
    await withScratch(
      async (scratch) => {
        expect(entries()).toEqual([]); // named, not created
        await mkdir(join(root, scratch.id)); // someone planted it
        expect(() => scratch.dir).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      },
      { dir: root },
    );
    expect(entries()).toHaveLength(1); // the planted one, left alone
  });
});

describe('sweep on first use', () => {
  it('does not touch unrelated entries in the root', async () => {
    await writeFile(join(root, 'not-ours'), 'x');
    await withScratch((s) => s.write('a', 'b'), { dir: root });
    expect(entries()).toEqual(['not-ours']);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
