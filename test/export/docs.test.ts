/** The `drove export` commands of docs/deploy.md run, in a project shaped like the one they name. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { here } from './cases.js';

const doc = ['deploy.md', 'build-release-run.md']
  .map((name) => readFileSync(join(here, '../../docs', name), 'utf8'))
  .join('\n');
const cli = join(here, '../../dist/cli/main.js');

it('every `npx drove export` line of docs/deploy.md and build-release-run.md runs', () => {
  const blocks = [...doc.matchAll(/^```sh[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const commands = blocks
    .flatMap((b) => b.split('\n'))
    .filter((l) => l.startsWith('npx drove export '));
  expect(commands.length).toBeGreaterThanOrEqual(6);
  const dir = mkdtempSync(join(tmpdir(), 'drove-docs-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"name":"shop"}\n');
    writeFileSync(
      join(dir, 'Procfile'),
      'release: node build/release.js\nweb: node build/web.js\nworker: node build/worker.js\n',
    );
    writeFileSync(join(dir, '.env'), 'SESSION_STORE_URL=redis://redis:6379/0\n');
    for (const line of commands) {
      const args = line.slice('npx drove '.length).split(' ');
      const run = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
      expect(run.status, `${line}\n${run.stderr}`).toBe(0);
      expect(existsSync(join(dir, 'deploy', args[1]!, '.drove-export')), line).toBe(true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
