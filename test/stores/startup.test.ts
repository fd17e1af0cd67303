/**
 * Issue 12, start-up: a store that cannot be reached when the app starts is reported then (one
 * warning naming the URL without credentials), or stops the process with `onUnreachable: 'throw'`.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, redactStoreUrl } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';

/** Process warnings emitted while `run` runs, until `settled` resolves. */
async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listen = (warning: Error) => seen.push(warning);
  process.on('warning', listen);
  try {
    await run();
  } finally {
    process.off('warning', listen);
  }
  return seen;
}

describe('createStore() at start-up', () => {
  let server: Awaited<ReturnType<typeof startRedis>>;
  let nobody: number;
  beforeAll(async () => {
    server = await startRedis();
    nobody = await freePort();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('warns once, with the URL minus credentials, when the store is unreachable', async () => {
    let store: Store | undefined;
    const warnings = await warningsDuring(async () => {
      store = createStore(`redis://drove:s3cret@127.0.0.1:${nobody}/2`, { timeoutMs: 300 });
      await store.ready().catch(() => undefined);
      // The warning is emitted on the next tick after the failed attempt.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    });
    await store?.close();
    const ours = warnings.filter(
      (w) => (w as { code?: string }).code === 'DROVE_STORE_UNREACHABLE',
    );
    expect(ours).toHaveLength(1);
    const message = ours[0]!.message;
    expect(message).toContain(`redis://127.0.0.1:${nobody}/2`);
    expect(message).toContain('DROVE_ERR_STORE_UNAVAILABLE');
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('drove:');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('says nothing when the store answers, and nothing when it is closed first', async () => {
    const warnings = await warningsDuring(async () => {
      const up = createStore(server.url);
      await up.ready();
      await up.close();
      const closedEarly = createStore(`redis://127.0.0.1:${nobody}`, { timeoutMs: 300 });
      await closedEarly.close();
      const quiet = createStore(`redis://127.0.0.1:${nobody}`, {
        timeoutMs: 300,
        onUnreachable: 'ignore',
      });
      await quiet.ready().catch(() => undefined);
      await quiet.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
    expect(
      warnings.filter((w) => (w as { code?: string }).code === 'DROVE_STORE_UNREACHABLE'),
    ).toEqual([]);
  });

  it("onUnreachable: 'throw' stops the process at boot, without printing the password", async () => {
    const script = `
      import { createStore } from ${JSON.stringify(new URL('../../dist/stores/index.js', import.meta.url).href)};
      createStore('redis://drove:s3cret@127.0.0.1:${nobody}', { timeoutMs: 300, onUnreachable: 'throw' });
      setTimeout(() => { console.log('still running'); process.exit(0); }, 5000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).not.toContain('still running');
    expect(code).not.toBe(0);
    expect(output).toContain('DROVE_ERR_STORE_UNAVAILABLE');
    expect(output).toContain(`redis://127.0.0.1:${nobody}`);
    expect(output).not.toContain('s3cret');
  });

  it('refuses an unknown onUnreachable', () => {
    expect(() =>
      createStore('sqlite::memory:', { onUnreachable: 'loud' as unknown as 'warn' }),
    ).toThrow(expect.objectContaining({ code: 'DROVE_ERR_INVALID_OPTION' }));
  });
});

describe('redactStoreUrl()', () => {
  it.each([
    ['redis://user:pw@10.0.0.1:6379/1', 'redis://10.0.0.1:6379/1'],
    ['rediss://:pw@cache.example:6380', 'rediss://cache.example:6380'],
    [
      'postgres://app:pw@db.example:5432/app?sslmode=require',
      'postgres://db.example:5432/app?sslmode=require',
    ],
    [
      'postgresql://db.example/app?password=pw&user=app',
      'postgresql://db.example/app?password=***&user=app',
    ],
    ['redis+cluster://u:pw@h1:7000,h2:7001', 'redis+cluster://h1:7000,h2:7001'],
    ['memcached://h1:11211,h2:11211', 'memcached://h1:11211,h2:11211'],
    ['sqlite:.drove/sessions.db', 'sqlite:.drove/sessions.db'],
  ])('%s → %s', (url, printed) => {
    expect(redactStoreUrl(url)).toBe(printed);
    expect(redactStoreUrl(url)).not.toContain('pw@');
  });
});
