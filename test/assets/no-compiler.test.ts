/**
 * The run-time half of drove/assets never loads the compiler: a child process whose module
 * resolution refuses `esbuild` can still import drove/assets, create the assets and serve.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { builtFixture } from './helpers.js';

const DIST = fileURLToPath(new URL('../../dist/assets/index.js', import.meta.url));
let fixture: Awaited<ReturnType<typeof builtFixture>>;
let hook: string;

beforeAll(async () => {
  fixture = await builtFixture();
  const hooks = path.join(fixture.root, 'no-esbuild-hooks.mjs');
  writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
  if (specifier === 'esbuild') throw new Error('esbuild was loaded');
  return next(specifier, context);
}\n`,
  );
  hook = path.join(fixture.root, 'register.mjs');
  writeFileSync(
    hook,
    `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
  );
});
afterAll(() => fixture.cleanup());

function runWithoutEsbuild(body: string) {
  const script = `import * as a from ${JSON.stringify(DIST)};\n${body}`;
  return spawnSync(process.execPath, ['--import', hook, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, DIR: fixture.dir, ROOT: fixture.root },
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
  expect(run.stderr).toContain('esbuild was loaded');
});
