import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DroveError } from '../../src/errors.js';
import { isPublicAddress, withScratch } from '../../src/scratch/index.js';

let server: Server;
let base: string;
let root: string;
const hits: string[] = [];

function body(size: number): Buffer {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = i % 251;
  return buf;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push(url.pathname);
    const size = Number(url.searchParams.get('size') ?? 1000);
    switch (url.pathname) {
      case '/file': {
        res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
        const data = body(size);
        for (let i = 0; i < size; i += 16_384) res.write(data.subarray(i, i + 16_384));
        return res.end();
      }
      case '/unsized':
        res.writeHead(200); // chunked: the size is only known while streaming
        for (let i = 0; i < size; i += 4096) res.write(body(Math.min(4096, size - i)));
        return res.end();
      case '/stall':
        res.writeHead(200, { 'content-length': 1_000_000 });
        return res.write(body(1000)); // and never more
      case '/redirect':
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/file' });
        return res.end();
      case '/echo':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(req.headers));
      case '/loop':
        res.writeHead(301, { location: '/loop' });
        return res.end();
      default:
        res.writeHead(404);
        return res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drove-download-test-'));
  hits.length = 0;
  return () => rm(root, { recursive: true, force: true });
});

async function fails(work: Promise<unknown>): Promise<DroveError> {
  const err = await work.then(
    () => {
      throw new Error('expected the download to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DroveError);
  return err as DroveError;
}

describe('scratch.download()', () => {
  it('streams to disk, reports progress, and returns size, checksum and type', async () => {
    const expected = body(200_000);
    const sha256 = createHash('sha256').update(expected).digest('hex');
    const progress: Array<{ bytes: number; total: number | undefined }> = [];
    await withScratch(
      async (scratch) => {
        const result = await scratch.download(`${base}/file?size=200000`, {
          name: 'data.bin',
          maxBytes: 1_000_000,
          sha256: sha256.toUpperCase(),
          onProgress: (p) => progress.push(p),
        });
        expect(result).toEqual({
          path: scratch.file('data.bin'),
          bytes: 200_000,
          sha256,
          url: `${base}/file?size=200000`,
          contentType: 'application/octet-stream',
        });
        expect((await readFile(result.path)).equals(expected)).toBe(true);
        expect(scratch.bytesUsed).toBe(200_000);
      },
      { dir: root },
    );
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((p) => p.total === 200_000)).toBe(true);
    expect(progress.map((p) => p.bytes)).toEqual(
      [...progress.map((p) => p.bytes)].sort((a, b) => a - b),
    );
    expect(progress.at(-1)?.bytes).toBe(200_000);
    expect(readdirSync(root)).toEqual([]);
  });

  it('follows redirects', async () => {
    await withScratch(
      async (scratch) => {
        const r = await scratch.download(`${base}/redirect?to=/file%3Fsize%3D10`);
        expect(r.bytes).toBe(10);
        expect(r.url).toBe(`${base}/file?size=10`);
      },
      { dir: root },
    );
  });

  it('refuses a body whose Content-Length exceeds maxBytes', async () => {
    await withScratch(
      async (scratch) => {
        const err = await fails(
          scratch.download(`${base}/file?size=5000`, { name: 'x', maxBytes: 4999 }),
        );
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_TOO_LARGE');
        expect(existsSync(scratch.file('x'))).toBe(false);
      },
      { dir: root },
    );
  });

  it('stops an unsized body once it passes maxBytes and removes the partial file', async () => {
    await withScratch(
      async (scratch) => {
        const err = await fails(
          scratch.download(`${base}/unsized?size=100000`, { name: 'x', maxBytes: 10_000 }),
        );
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_TOO_LARGE');
        expect(existsSync(scratch.file('x'))).toBe(false);
        expect(scratch.bytesUsed).toBe(0);
      },
      { dir: root },
    );
  });

  it('times out on a stalled body', async () => {
    await withScratch(
      async (scratch) => {
        const err = await fails(scratch.download(`${base}/stall`, { name: 's', timeoutMs: 300 }));
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_TIMEOUT');
        expect(existsSync(scratch.file('s'))).toBe(false);
      },
      { dir: root },
    );
  });

  it('rejects a wrong SHA-256 and removes the file', async () => {
    await withScratch(
      async (scratch) => {
        const err = await fails(
          scratch.download(`${base}/file?size=100`, { name: 'c', sha256: '0'.repeat(64) }),
        );
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_CHECKSUM');
        expect(existsSync(scratch.file('c'))).toBe(false);
      },
      { dir: root },
    );
  });

  it('fails on non-2xx answers, redirect loops and bad URLs', async () => {
    await withScratch(
      async (scratch) => {
        expect((await fails(scratch.download(`${base}/missing`))).message).toContain('HTTP 404');
        expect(
          (await fails(scratch.download(`${base}/loop`, { maxRedirects: 3 }))).message,
        ).toContain('more than 3 redirects');
        expect((await fails(scratch.download('not a url'))).code).toBe('DROVE_ERR_DOWNLOAD');
        expect((await fails(scratch.download('file:///etc/passwd'))).message).toContain('protocol');
      },
      { dir: root },
    );
  });

  it('asks the guard for the resolved address on every redirect and refuses before connecting', async () => {
    const asked: Array<{ address: string; host: string }> = [];
    // Allow the test server by its literal address only; anything a *name* resolves to must be public.
    const guard = (address: string, _family: number, url: URL) => {
      asked.push({ address, host: url.hostname });
      return url.hostname === '127.0.0.1' || isPublicAddress(address);
    };
    const port = new URL(base).port;
    await withScratch(
      async (scratch) => {
        const to = encodeURIComponent(`http://localhost:${port}/secret`);
        const err = await fails(scratch.download(`${base}/redirect?to=${to}`, { guard }));
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_REFUSED');
        expect(err.message).toContain('refused');
        const literal = await fails(
          scratch.download(`${base}/redirect?to=${encodeURIComponent('http://127.0.0.2/x')}`, {
            guard,
          }),
        );
        expect(literal.code).toBe('DROVE_ERR_DOWNLOAD_REFUSED');
        expect(literal.message).toContain('127.0.0.2 refused');
      },
      { dir: root },
    );
    expect(hits).toEqual(['/redirect', '/redirect']); // never /secret
    expect(asked).toContainEqual({ address: '127.0.0.1', host: '127.0.0.1' });
    expect(
      asked.some((a) => a.host === 'localhost' && ['127.0.0.1', '::1'].includes(a.address)),
    ).toBe(true);
    expect(asked).toContainEqual({ address: '127.0.0.2', host: '127.0.0.2' });
  });

  it('uses a custom lookup at connect time, so a name that resolves inwards is refused', async () => {
    const port = new URL(base).port;
    const lookup = ((_host: string, _opts: unknown, cb: (e: null, a: unknown) => void) =>
      cb(null, [{ address: '127.0.0.1', family: 4 }])) as never;
    await withScratch(
      async (scratch) => {
        const ok = await scratch.download(`http://files.example:${port}/file?size=5`, { lookup });
        expect(ok.bytes).toBe(5);
        const err = await fails(
          scratch.download(`http://files.example:${port}/file?size=5`, {
            lookup,
            guard: (address) => isPublicAddress(address),
          }),
        );
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_REFUSED');
        expect(err.message).toContain('files.example resolves to refused address 127.0.0.1');
      },
      { dir: root },
    );
    expect(hits).toEqual(['/file']);
  });

  it('classifies the address of every connection, so a name rebound between hops is refused', async () => {
    const port = new URL(base).port;
    // DNS rebinding: the first answer is the allowed server, the next (on the redirect to the
    // same name) points elsewhere. Only the addresses handed to the socket are classified.
    const answers = ['127.0.0.1', '127.0.0.2'];
    const resolved: string[] = [];
    const lookup = ((_host: string, _opts: unknown, cb: (e: null, a: unknown) => void) => {
      const address = answers[Math.min(resolved.length, answers.length - 1)]!;
      resolved.push(address);
      cb(null, [{ address, family: 4 }]);
    }) as never;
    const asked: string[] = [];
    const guard = (address: string) => {
      asked.push(address);
      return address === '127.0.0.1';
    };
    const to = encodeURIComponent(`http://files.example:${port}/file?size=5`);
    await withScratch(
      async (scratch) => {
        const err = await fails(
          scratch.download(`http://files.example:${port}/redirect?to=${to}`, { lookup, guard }),
        );
        expect(err.code).toBe('DROVE_ERR_DOWNLOAD_REFUSED');
        expect(err.message).toContain('127.0.0.2');
      },
      { dir: root },
    );
    expect(resolved).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(asked).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(hits).toEqual(['/redirect']);
  });

  it('drops credentials on a redirect to another origin, keeps them on the same origin', async () => {
    const port = new URL(base).port;
    const sameOrigin = encodeURIComponent('/echo');
    const otherOrigin = encodeURIComponent(`http://localhost:${port}/echo`);
    const headers = { Authorization: 'Bearer secret', Cookie: 'sid=1', 'X-Trace': 't' };
    await withScratch(
      async (scratch) => {
        const same = await scratch.download(`${base}/redirect?to=${sameOrigin}`, { headers });
        expect(JSON.parse(await readFile(same.path, 'utf8'))).toMatchObject({
          authorization: 'Bearer secret',
          cookie: 'sid=1',
          'x-trace': 't',
        });
        const other = await scratch.download(`${base}/redirect?to=${otherOrigin}`, { headers });
        const seen = JSON.parse(await readFile(other.path, 'utf8'));
        expect(seen).toMatchObject({ 'x-trace': 't' });
        expect(seen).not.toHaveProperty('authorization');
        expect(seen).not.toHaveProperty('cookie');
      },
      { dir: root },
    );
  });

  it('counts downloaded bytes against the transaction quota', async () => {
    const err = await fails(
      withScratch((scratch) => scratch.download(`${base}/file?size=50000`), {
        dir: root,
        maxBytes: 20_000,
      }),
    );
    expect(err.code).toBe('DROVE_ERR_SCRATCH_QUOTA');
    expect(readdirSync(root)).toEqual([]);
  });

  it('stops when the transaction is aborted', async () => {
    const err = await fails(
      withScratch((scratch) => scratch.download(`${base}/stall`, { timeoutMs: 60_000 }), {
        dir: root,
        timeoutMs: 200,
      }),
    );
    expect(err.code).toBe('DROVE_ERR_SCRATCH_ABORTED');
    const deadline = Date.now() + 10_000;
    while (readdirSync(root).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(root)).toEqual([]);
  });
});
