/**
 * A fixture app (test/fixtures/session/*.mjs) as 2 real processes behind drove's round-robin
 * balancer, so that consecutive requests of one user land on different processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createBalancer } from '../../src/runner/balancer.js';

export interface Formation {
  base: string;
  close(): Promise<void>;
}

function spawnApp(fixture: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`app did not start: ${out}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`app exited with ${code}: ${out}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Start `fixture` twice with `env` behind a round-robin balancer. */
export async function startFormation(
  fixture: string,
  env: Record<string, string>,
): Promise<Formation> {
  const apps = await Promise.all([spawnApp(fixture, env), spawnApp(fixture, env)]);
  const balancer = createBalancer({ port: 0, strategy: 'round-robin' });
  await balancer.listen();
  apps.forEach(({ port }, i) => {
    balancer.add({ id: `web.${i + 1}`, host: '127.0.0.1', port });
  });
  const { host, port } = balancer.address();
  return {
    base: `http://${host}:${port}`,
    async close() {
      await balancer.close(1000);
      await Promise.all(apps.map(({ child }) => stop(child)));
    },
  };
}
