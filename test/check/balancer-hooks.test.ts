/**
 * The balancer's hooks that `drove check` drives (src/runner/balancer.ts): a strategy object, a
 * `clientKey` per request and `onRouted`, on a real balancer in front of real backends.
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { adversarial, adversarialKey, unpackKeys } from '../../src/check/strategy.js';
import { type Balancer, createBalancer, type RoutedRequest } from '../../src/runner/index.js';
import { type Backend, startBackend } from '../balancer/helpers.js';

let balancer: Balancer | undefined;
let backends: Backend[] = [];
afterEach(async () => {
  await balancer?.close(0);
  await Promise.all(backends.map((b) => b.close()));
  balancer = undefined;
  backends = [];
});

/** GET / through the balancer on a connection of its own; the name of the backend that answered. */
function get(port: number, cookie?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', agent: false, headers: cookie ? { cookie } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve((JSON.parse(body) as { name: string }).name));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function herd(options: Parameters<typeof createBalancer>[0]) {
  backends = await Promise.all(['a', 'b'].map((n) => startBackend(n)));
  balancer = createBalancer(options);
  await balancer.listen();
  for (const b of backends) balancer.add({ id: b.name, host: '127.0.0.1', port: b.port });
  return balancer.address().port;
}

describe('balancer hooks for drove check', () => {
  it('balances by the key clientKey gives, with a strategy object, and reports each route', async () => {
    const routed: { url: string; route: RoutedRequest }[] = [];
    const port = await herd({
      port: 0,
      strategy: adversarial(),
      clientKey: adversarialKey(),
      onRouted: (req: IncomingMessage, _res, route) => routed.push({ url: req.url ?? '', route }),
    });
    const served: string[] = [];
    for (let i = 0; i < 8; i++) {
      served.push(await get(port, 'sid=ann'));
      // Another client in between: plain rotation would now send ann to the same one every time.
      await get(port, 'sid=bob');
    }
    for (let i = 1; i < served.length; i++) expect(served[i]).not.toBe(served[i - 1]);
    expect(routed).toHaveLength(16);
    const first = routed[0]!.route;
    expect(unpackKeys(first.client)).toMatchObject({ session: 'sid=ann', address: '127.0.0.1' });
    expect(['a', 'b']).toContain(first.instance);
  });

  it('without the hook, rotation alone sends an interleaved client to one instance (the control)', async () => {
    const port = await herd({ port: 0 });
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      served.push(await get(port, 'sid=ann'));
      await get(port, 'sid=bob');
    }
    expect(new Set(served).size).toBe(1);
  });

  it('tells onRouted of a request no instance could take', async () => {
    const routes: RoutedRequest[] = [];
    balancer = createBalancer({ port: 0, onRouted: (_req, _res, route) => routes.push(route) });
    await balancer.listen();
    const res = await fetch(`http://127.0.0.1:${balancer.address().port}/`);
    expect(res.status).toBe(503);
    expect(routes).toHaveLength(1);
    expect(routes[0]?.instance).toBeUndefined();
    expect(routes[0]?.client).toMatch(/^connection:/);
  });

  it('still refuses an unknown strategy name', () => {
    expect(() =>
      createBalancer({ port: 0, strategy: 'sticky' as unknown as 'round-robin' }),
    ).toThrow(/round-robin/);
  });
});
