/** Real app processes behind drove's round-robin balancer, as test/session/cross-process.test.ts runs them. */
import { type ChildProcess, spawn } from 'node:child_process';
import { type Balancer, createBalancer } from '../../src/runner/balancer.js';

/** Start `fixture` (a script printing `listening <port>`) with `env`. */
export function spawnApp(
  fixture: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
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

export interface Formation {
  base: string;
  stop(): Promise<void>;
}

/** `count` processes of `fixture` behind a round-robin balancer. */
export async function startFormation(
  fixture: string,
  env: NodeJS.ProcessEnv,
  count = 2,
): Promise<Formation> {
  const apps = await Promise.all(Array.from({ length: count }, () => spawnApp(fixture, env)));
  const balancer: Balancer = createBalancer({ port: 0, strategy: 'round-robin' });
  await balancer.listen();
  apps.forEach(({ port }, i) => {
    balancer.add({ id: `web.${i + 1}`, host: '127.0.0.1', port });
  });
  const { host, port } = balancer.address();
  return {
    base: `http://${host}:${port}`,
    async stop() {
      await balancer.close(1000);
      await Promise.all(
        apps.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.removeAllListeners('exit');
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
