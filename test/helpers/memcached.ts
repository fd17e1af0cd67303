/**
 * A private, throwaway memcached for tests: `memcached -l 127.0.0.1 -p <free port> -U 0 -m 64`
 * (plus `-u root` when running as root, which memcached otherwise refuses), killed afterwards.
 * A missing binary fails loudly, naming the apt package.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, requireBinary, waitFor } from './ports.js';

export interface MemcachedServer {
  host: string;
  port: number;
  /** Hang the server (SIGSTOP): connections stay open, nothing is read or answered. */
  pause(): void;
  /** Let a paused server go on (SIGCONT): it reads and runs what it was sent meanwhile. */
  resume(): void;
  stop(): Promise<void>;
}

/** Start memcached on a free loopback port; `extraArgs` e.g. `['-I', '2m']`. */
export async function startMemcached(extraArgs: string[] = []): Promise<MemcachedServer> {
  const binary = requireBinary('memcached', 'memcached');
  let lastError: unknown;
  // A free port can be taken between freePort() and memcached's bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', ...extraArgs];
    if (process.getuid?.() === 0) args.push('-u', 'root');
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      await waitFor(`memcached on port ${port}`, async () => {
        if (child.exitCode !== null) throw new Error(`memcached exited: ${stderr.trim()}`);
        return canConnect(port);
      });
      return {
        host: '127.0.0.1',
        port,
        pause: () => child.kill('SIGSTOP'),
        resume: () => child.kill('SIGCONT'),
        stop: () => stop(child),
      };
    } catch (err) {
      lastError = err;
      await stop(child);
    }
  }
  throw new Error('could not start memcached', { cause: lastError });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    child.kill('SIGCONT'); // a paused server takes the SIGTERM only once it runs again
  });
}
