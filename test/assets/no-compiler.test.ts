/**
 * The run-time half of drove/assets never loads the compiler: a child process whose module
 * resolution refuses `esbuild` can still import drove/assets, create the assets and serve.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { builtFixture } from './helpers.js';

const DIST = fileURLToPath(new URL('../../dist/assets/index.js', import.meta.url));
let fixture: Awaited<ReturnType<typeof builtFixture>>;
// Resolving `esbuild` fails in the child, as if it were not installed.
const HIDE = fileURLToPath(new URL('../fixtures/hide-package.mjs', import.meta.url));

beforeAll(async () => {
  fixture = await builtFixture();
});
afterAll(() => fixture.cleanup());

function runWithoutEsbuild(body: string) {
  const script = `import * as a from ${JSON.stringify(DIST)};\n${body}`;
  return spawnSync(process.execPath, ['--import', HIDE, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, DIR: fixture.dir, ROOT: fixture.root, DROVE_HIDE_PEER: 'esbuild' },
  });
}

it('serves without ever resolving esbuild', () => {
  const run = runWithoutEsbuild(`
const assets = a.createAssets({ dir: process.env.DIR });
const reply = assets.respond({ method: 'GET', url: assets.assetUrl('app.js') });
console.log(reply.status, reply.body.length > 0);`);
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('200 true');
});

it('control: the hook does stop a build, so the test above can fail', () => {
  const run = runWithoutEsbuild(`await a.buildAssets({ root: process.env.ROOT });`);
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/Cannot find package '?esbuild'? \(hidden by the test\)/);
});
