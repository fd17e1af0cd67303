/** Shared set-up for the assets suites: a built copy of the fixture project, and raw HTTP. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAssets } from '../../src/assets/index.js';

export const FIXTURE = fileURLToPath(new URL('../fixtures/assets/basic', import.meta.url));

/** Copy the fixture project into a fresh temp folder (without any earlier build). */
export function copyFixture(label = 'drove-assets-'): string {
  const root = mkdtempSync(path.join(tmpdir(), label));
  cpSync(FIXTURE, root, {
    recursive: true,
    filter: (src) => !src.startsWith(path.join(FIXTURE, 'build')),
  });
  return root;
}

/** A built copy of the fixture; `cleanup()` removes it. */
export async function builtFixture(): Promise<{ root: string; dir: string; cleanup: () => void }> {
  const root = copyFixture();
  const { outdir } = await buildAssets({ root });
  return { root, dir: outdir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Listen on a free loopback port; resolves to the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * Send a request line exactly as given (no URL normalisation, unlike fetch) and return the status
 * and body. The connection is closed by the server after one response.
 */
export function rawGet(port: number, target: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const status = Number(all.subarray(9, 12).toString('latin1'));
      resolve({ status, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    });
    socket.write(
      Buffer.concat([
        Buffer.from('GET ', 'latin1'),
        Buffer.from(target, 'utf8'),
        Buffer.from(' HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 'latin1'),
      ]),
    );
  });
}
