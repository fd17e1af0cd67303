/**
 * A user who installs drovejs from npm has none of its optional peers: the embedded `sqlite:`
 * store then says at start-up, in one warning with the install command, that it cannot start —
 * not at the first request, and not as an outage that will pass.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HIDE = fileURLToPath(new URL('../fixtures/hide-package.mjs', import.meta.url));
const STORES = fileURLToPath(new URL('../../dist/stores/index.js', import.meta.url));

function run(peer: string, url: string) {
  const script = `import { createStore } from ${JSON.stringify(STORES)};
    createStore(${JSON.stringify(url)}); setTimeout(() => {}, 300);`;
  return spawnSync(process.execPath, ['--import', HIDE, '--input-type=module', '-e', script], {
    env: { ...process.env, DROVE_HIDE_PEER: peer },
    encoding: 'utf8',
  });
}

describe('a store whose client library is not installed', () => {
  it('warns at start-up with the npm install command (sqlite: without better-sqlite3)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drove-peer-'));
    const result = run('better-sqlite3', `sqlite:${join(dir, 'sessions.db')}`);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('[DROVE_STORE_MISSING_PEER]');
    expect(result.stderr).toContain('npm install better-sqlite3');
    expect(result.stderr).not.toContain('until it answers');
  });

  it('is silent when the library is there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drove-peer-'));
    const result = run('no-such-package-hidden', `sqlite:${join(dir, 'sessions.db')}`);
    expect(result.status).toBe(0);
    expect(result.stderr).not.toContain('DROVE_STORE');
  });
});
