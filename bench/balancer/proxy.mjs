// A proxy process for the balancer benchmark: `node proxy.mjs <design> <port> <backend ports…>`.
// design `drove` is drove's balancer (built: run `npm run build` in the root first); the others
// are the alternatives measured while choosing its design (`run.mjs --designs`).
import { Agent, createServer, request } from 'node:http';

process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
const [design, portArg, ...backendArgs] = process.argv.slice(2);
const port = Number(portArg);
const backends = backendArgs.map(Number);
let next = 0;
const pick = () => backends[next++ % backends.length];

if (design === 'drove') {
  const { createBalancer } = await import('../../dist/runner/balancer.js');
  const lb = createBalancer({
    port,
    host: '127.0.0.1',
    strategy: 'round-robin',
    trustProxy: false,
  });
  await lb.listen();
  for (const [i, p] of backends.entries())
    lb.add({ id: `web.${i + 1}`, host: '127.0.0.1', port: p });
  process.send?.('ready');
} else if (design === 'http-proxy-3') {
  const { createProxyServer } = await import('http-proxy-3');
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = createProxyServer({ agent, xfwd: true });
  proxy.on('error', (_err, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502);
    res.end();
  });
  createServer((req, res) => proxy.web(req, res, { target: `http://127.0.0.1:${pick()}` })).listen(
    port,
    '127.0.0.1',
    () => process.send?.('ready'),
  );
} else if (design === 'node-http') {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  createServer((req, res) => {
    const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress };
    const up = request(
      { host: '127.0.0.1', port: pick(), method: req.method, path: req.url, headers, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  }).listen(port, '127.0.0.1', () => process.send?.('ready'));
} else {
  throw new Error(`unknown design ${design}`);
}
