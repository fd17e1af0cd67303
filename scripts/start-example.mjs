#!/usr/bin/env node
// `npm start`: build what is missing (the library, the example's server code and its assets:
// the build stage), then run the example as web=2 worker=1 behind drove's balancer on embedded
// defaults (SQLite files under examples/digest/.drove/). Extra arguments go to `drove start`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const example = join(root, 'examples', 'digest');
const drove = join(root, 'dist', 'cli', 'main.js');

function run(command, args, cwd = root) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(drove)) run('npm', ['run', 'build']);
run('npm', ['run', 'build:example']);

const port = process.env.PORT ?? '5000';
// No address yet: `drove start` prints "open http://..." once a web instance is ready to serve.
console.log('\ndrove: starting the digest example (web=2, worker=1)\n');
const child = spawnSync(
  process.execPath,
  [drove, 'start', '-m', 'web=2,worker=1', '-p', port, ...process.argv.slice(2)],
  // Development mode: the example may then digest files served from this machine (loopback).
  { cwd: example, stdio: 'inherit', env: { NODE_ENV: 'development', ...process.env } },
);
process.exit(child.status ?? 1);
