import { describe, expect, it } from 'vitest';
import { DroveError } from '../errors.js';
import { importPeer, resolveStoreOptions } from './_utils.js';
import { createStore } from './index.js';

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DroveError);
    return err as DroveError;
  }
  throw new Error('expected a throw');
}

describe('createStore()', () => {
  it('refuses an unknown scheme, quoting it and listing the known ones', () => {
    const err = codeOf(() => createStore('mongodb://localhost/x'));
    expect(err.code).toBe('DROVE_ERR_STORE_SCHEME');
    expect(err.message).toContain('"mongodb"');
    expect(err.message).toContain('redis://');
  });

  it('refuses empty and scheme-less URLs', () => {
    expect(codeOf(() => createStore('')).code).toBe('DROVE_ERR_STORE_URL');
    expect(codeOf(() => createStore('localhost:6379')).code).toBe('DROVE_ERR_STORE_SCHEME');
  });

  it('refuses sqlite: without a path', () => {
    const err = codeOf(() => createStore('sqlite:'));
    expect(err.code).toBe('DROVE_ERR_STORE_URL');
    expect(err.message).toContain('missing database path');
  });

  it('refuses malformed host lists, quoting the bad part', () => {
    const port = codeOf(() => createStore('memcached://a:11211,b:99999'));
    expect(port.code).toBe('DROVE_ERR_STORE_URL');
    expect(port.message).toContain('"b:99999"');
    const host = codeOf(() => createStore('redis+cluster://a:1,:2'));
    expect(host.code).toBe('DROVE_ERR_STORE_URL');
    expect(host.message).toContain('":2"');
    expect(codeOf(() => createStore('memcached://')).code).toBe('DROVE_ERR_STORE_URL');
  });

  it('refuses unparsable redis and postgres URLs', () => {
    expect(codeOf(() => createStore('redis://exa mple:6379')).code).toBe('DROVE_ERR_STORE_URL');
    expect(codeOf(() => createStore('postgres://:5432/db')).code).toBe('DROVE_ERR_STORE_URL');
  });

  it('refuses bad common options before connecting', () => {
    const err = codeOf(() => resolveStoreOptions({ timeoutMs: -1 }));
    expect(err.code).toBe('DROVE_ERR_INVALID_OPTION');
    expect(err.message).toContain('timeoutMs');
  });
});

describe('importPeer()', () => {
  it('turns a missing optional peer into DROVE_ERR_MISSING_PEER naming the package', async () => {
    const err = await importPeer(
      'drove-no-such-package',
      'the test store',
      () => import('drove-no-such-package' as string),
    ).catch((e: DroveError) => e);
    expect(err).toBeInstanceOf(DroveError);
    expect((err as DroveError).code).toBe('DROVE_ERR_MISSING_PEER');
    expect((err as DroveError).message).toContain('npm install drove-no-such-package');
  });
});
