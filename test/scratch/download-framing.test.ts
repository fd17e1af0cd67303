/**
 * scratch.download against real servers and every way a body can be framed, encoded or cut off:
 * python3's http.server (HTTP/1.0, closes after each answer) many times in a row, and a server
 * written by hand on raw sockets (test/scratch/raw-http.ts). Every outcome is a file with the
 * exact bytes or a typed DroveError; nothing is left in scratch, and the process never crashes
 * (the child-process test proves the last with the built library).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DroveError } from '../../src/errors.js';
import { withScratch } from '../../src/scratch/index.js';
import { freePort, requireBinary, waitFor } from '../helpers/ports.js';
import { content, startRawServer } from './raw-http.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let raw: Awaited<ReturnType<typeof startRawServer>>;
const seen: Array<{ path: string; headers: string }> = [];
let python: ChildProcess;
let pythonBase: string;
let served: string;
let root: string;

async function startPython(): Promise<void> {
  const binary = requireBinary('python3', 'python3');
  served = await mkdtemp(join(tmpdir(), 'drove-download-served-'));
  for (let i = 0; i < 3; i++)
    await writeFile(join(served, `f${i}.bin`), content(50_000 + i * 7919));
  const port = await freePort();
  python = spawn(binary, ['-m', 'http.server', '--bind', '127.0.0.1', String(port)], {
    cwd: served,
    stdio: 'ignore',
  });
  pythonBase = `http://127.0.0.1:${port}`;
  await waitFor('python3 -m http.server', async () => {
    const socket = connect(port, '127.0.0.1');
    return new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    }).finally(() => socket.destroy());
  });
}

beforeAll(async () => {
  raw = await startRawServer(seen);
  await startPython();
});
afterAll(async () => {
  await raw.close();
  python.kill();
  await once(python, 'exit').catch(() => {});
  await rm(served, { recursive: true, force: true });
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'drove-framing-test-'));
  seen.length = 0;
  return () => rm(root, { recursive: true, force: true });
});

/** Download in a scratch transaction; the file's bytes if it worked, the DroveError if not. */
async function fetchOnce(
  url: string,
  options: Parameters<typeof withScratch>[1] & { maxBytes?: number; timeoutMs?: number } = {},
): Promise<Buffer | DroveError> {
  const { maxBytes, timeoutMs, ...scratchOptions } = options;
  try {
    return await withScratch(
      async (scratch) => {
        const r = await scratch.download(url, { name: 'f', maxBytes, timeoutMs });
        const bytes = readFileSync(r.path);
        expect(r.bytes).toBe(bytes.length);
        expect(r.sha256).toBe(sha(bytes));
        return bytes;
      },
      { dir: root, ...scratchOptions },
    );
  } catch (err) {
    if (err instanceof DroveError) return err;
    throw err;
  } finally {
    expect(readdirSync(root)).toEqual([]);
  }
}

async function failure(url: string, options?: { maxBytes?: number }): Promise<DroveError> {
  const result = await fetchOnce(url, options);
  if (!(result instanceof DroveError)) throw new Error(`expected ${url} to fail`);
  return result;
}

describe('scratch.download() framings', () => {
  it('reads python3 http.server (HTTP/1.0, close after each answer) 30 times in a row', async () => {
    for (let i = 0; i < 30; i++) {
      const n = i % 3;
      const got = await fetchOnce(`${pythonBase}/f${n}.bin`);
      expect(got, `download ${i}`).toBeInstanceOf(Buffer);
      expect((got as Buffer).equals(content(50_000 + n * 7919)), `download ${i}`).toBe(true);
    }
    const missing = await failure(`${pythonBase}/nope.bin`);
    expect(missing.message).toContain('HTTP 404');
  });

  it('reads a close-delimited HTTP/1.0 body written by hand, 25 times in a row', async () => {
    for (let i = 0; i < 25; i++) {
      const got = await fetchOnce(`${raw.base}/close?size=${10_000 + i}`);
      expect(got, `download ${i}`).toBeInstanceOf(Buffer);
      expect((got as Buffer).equals(content(10_000 + i)), `download ${i}`).toBe(true);
    }
  });

  it('reads a large close-delimited body the server sends at once and closes on (undici 7 crashed)', async () => {
    for (let i = 0; i < 5; i++) {
      const got = await fetchOnce(`${raw.base}/close-fast?size=8000000`);
      expect(got, `download ${i}`).toBeInstanceOf(Buffer);
      expect(sha(got as Buffer), `download ${i}`).toBe(sha(content(8_000_000)));
    }
  });

  it('reads HTTP/1.0 with Content-Length, hand-written chunked, and a body that trickles in', async () => {
    for (const path of ['/length10', '/chunked', '/slow']) {
      const got = await fetchOnce(`${raw.base}${path}?size=60000`);
      expect(got, path).toBeInstanceOf(Buffer);
      expect((got as Buffer).equals(content(60_000)), path).toBe(true);
    }
  });

  it('asks for gzip, deflate and br and stores the decoded body', async () => {
    for (const path of ['/gzip', '/deflate', '/br', '/gzip-close']) {
      const got = await fetchOnce(`${raw.base}${path}?size=80000`);
      expect(got, path).toBeInstanceOf(Buffer);
      expect((got as Buffer).equals(content(80_000)), path).toBe(true);
    }
    expect(seen[0]?.headers).toContain('accept-encoding: gzip, deflate, br');
  });

  it('counts maxBytes on the decoded body, so a small compressed bomb is refused', async () => {
    const err = await failure(`${raw.base}/bomb?size=5000000`, { maxBytes: 1_000_000 });
    expect(err.code).toBe('DROVE_ERR_DOWNLOAD_TOO_LARGE');
  });

  it('reports a body cut off before its Content-Length, last chunk or gzip end as truncated', async () => {
    const length = await failure(`${raw.base}/truncated-length?size=40000`);
    expect(length.code).toBe('DROVE_ERR_DOWNLOAD_TRUNCATED');
    expect(length.message).toContain('of 40000');
    const chunked = await failure(`${raw.base}/truncated-chunked`);
    expect(chunked.code).toBe('DROVE_ERR_DOWNLOAD_TRUNCATED');
    const gzip = await failure(`${raw.base}/truncated-gzip?size=80000`);
    expect(gzip.code).toBe('DROVE_ERR_DOWNLOAD_TRUNCATED');
    const reset = await failure(`${raw.base}/reset?size=40000`);
    expect(reset.code).toBe('DROVE_ERR_DOWNLOAD_TRUNCATED');
  });

  it('fails with DROVE_ERR_DOWNLOAD on corrupt or unknown encodings and on answers that are not HTTP', async () => {
    for (const [path, words] of [
      ['/corrupt-gzip', 'corrupt gzip body (incorrect header check)'],
      ['/corrupt-gzip-big?size=2000000', 'corrupt gzip body'],
      ['/zstd', 'unsupported Content-Encoding zstd'],
      ['/garbage', ''],
      ['/headers-cut', ''],
    ] as const) {
      const err = await failure(`${raw.base}${path}`);
      expect(err.code, path).toBe('DROVE_ERR_DOWNLOAD');
      expect(err.message, path).toContain(words);
    }
  });

  it('times out on a server that never answers, and on one that stops mid-body', async () => {
    for (const path of ['/silent', '/slow?size=100000000']) {
      const err = await fetchOnce(`${raw.base}${path}`, { timeoutMs: 300 });
      expect(err, path).toBeInstanceOf(DroveError);
      expect((err as DroveError).code, path).toBe('DROVE_ERR_DOWNLOAD_TIMEOUT');
    }
  });

  it('fails with DROVE_ERR_DOWNLOAD when nothing listens', async () => {
    const port = await freePort();
    const err = await failure(`http://127.0.0.1:${port}/x`);
    expect(err.code).toBe('DROVE_ERR_DOWNLOAD');
    expect(err.message).toContain('ECONNREFUSED');
  });
});

/** Run test/fixtures/scratch/downloads.mjs (the built library) on `urls`: its lines and exit. */
async function inChild(urls: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '../fixtures/scratch/downloads.mjs'), ...urls],
    { env: { ...process.env, DROVE_SCRATCH_DIR: root, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let errors = '';
  child.stdout!.on('data', (c) => {
    out += c;
  });
  child.stderr!.on('data', (c) => {
    errors += c;
  });
  const [code] = await once(child, 'exit');
  return { code, errors, lines: out.trim().split('\n') };
}

describe('scratch.download() in a process of its own', () => {
  it('survives every framing and failure above, back to back, and exits normally', async () => {
    const urls = [
      ...Array.from({ length: 20 }, (_, i) => `${pythonBase}/f${i % 3}.bin`),
      ...Array.from({ length: 20 }, (_, i) => `${raw.base}/close?size=${5000 + i}`),
      ...Array.from({ length: 3 }, () => `${raw.base}/close-fast?size=8000000`),
      ...[
        '/chunked',
        '/slow',
        '/gzip',
        '/br',
        '/truncated-length',
        '/truncated-chunked',
        '/truncated-gzip',
        '/reset',
        '/corrupt-gzip',
        '/garbage',
        '/headers-cut',
      ].map((p) => `${raw.base}${p}?size=30000`),
    ];
    const { code, errors, lines } = await inChild(urls);
    expect(errors).toBe('');
    expect(code).toBe(0);
    expect(lines).toHaveLength(urls.length);
    expect(lines.slice(0, 40).every((l) => l.startsWith('ok '))).toBe(true);
    expect(lines.slice(40, 43)).toEqual(['ok 8000000', 'ok 8000000', 'ok 8000000']);
    expect(lines.slice(43)).toEqual([
      'ok 30000',
      'ok 30000',
      'ok 30000',
      'ok 30000',
      'DROVE_ERR_DOWNLOAD_TRUNCATED',
      'DROVE_ERR_DOWNLOAD_TRUNCATED',
      'DROVE_ERR_DOWNLOAD_TRUNCATED',
      'DROVE_ERR_DOWNLOAD_TRUNCATED',
      'DROVE_ERR_DOWNLOAD',
      'DROVE_ERR_DOWNLOAD',
      'DROVE_ERR_DOWNLOAD',
    ]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('downloads over https by host name (node:https, the guarded lookup, SNI) and redirects to http', async () => {
    // A certificate for localhost made now, trusted by the child through NODE_EXTRA_CA_CERTS.
    const dir = await mkdtemp(join(tmpdir(), 'drove-download-tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync(
      requireBinary('openssl', 'openssl'),
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-days',
        '1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const names: Array<string | undefined> = [];
    const server = createHttpsServer(
      { key: await readFile(key), cert: await readFile(cert) },
      (req, res) => {
        names.push((req.socket as { servername?: string }).servername);
        if (req.url === '/to-http') {
          res.writeHead(302, { location: `${raw.base}/close?size=777` });
          return res.end();
        }
        res.writeHead(200); // chunked
        res.write(content(40_000).subarray(0, 20_000));
        res.end(content(40_000).subarray(20_000));
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const { code, errors, lines } = await inChild(
        [`https://localhost:${port}/file`, `https://localhost:${port}/to-http`],
        { NODE_EXTRA_CA_CERTS: cert },
      );
      expect(errors).toBe('');
      expect(code).toBe(0);
      expect(lines).toEqual(['ok 40000', 'ok 777']);
      expect(names).toEqual(['localhost', 'localhost']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
