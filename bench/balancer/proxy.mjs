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
} else if (design === 'raw-upstream') {
  // Experiment, not a product: node:http on the client side, upstream over kept-alive net.Sockets
  // with a hand-rolled response-head parser that only understands Content-Length bodies (enough
  // for both benchmark backends). Measures what undici costs per request.
  const { connect } = await import('node:net');
  const idle = new Map(backends.map((p) => [p, []]));
  const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
  const exchange = (socket, req, res, backendPort) => {
    let buf = null;
    let need = -1;
    let head = null;
    const onData = (chunk) => {
      buf = buf ? Buffer.concat([buf, chunk]) : chunk;
      if (head === null) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.toString('latin1', 0, end).split('\r\n');
        const status = Number(lines[0].slice(9, 12));
        const headers = [];
        for (let i = 1; i < lines.length; i++) {
          const line = lines[i];
          const colon = line.indexOf(':');
          const name = line.slice(0, colon);
          const lower = name.toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (lower === 'content-length') need = Number(value);
          if (!HOP.has(lower)) headers.push(name, value);
        }
        head = { status, headers };
        buf = buf.subarray(end + 4);
      }
      if (buf.length < need) return;
      socket.off('data', onData);
      idle.get(backendPort).push(socket);
      res.writeHead(head.status, head.headers);
      res.end(buf);
    };
    socket.on('data', onData);
    let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (!HOP.has(raw[i].toLowerCase())) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    text += `x-forwarded-for: ${req.socket.remoteAddress}\r\nconnection: keep-alive\r\n\r\n`;
    socket.write(text, 'latin1');
  };
  createServer((req, res) => {
    res.sendDate = false;
    const backendPort = pick();
    const socket = idle.get(backendPort).pop();
    if (socket) return exchange(socket, req, res, backendPort);
    const fresh = connect(backendPort, '127.0.0.1', () => exchange(fresh, req, res, backendPort));
    fresh.setNoDelay(true);
    fresh.on('error', () => res.destroy());
  }).listen(port, '127.0.0.1', () => process.send?.('ready'));
} else {
  throw new Error(`unknown design ${design}`);
}
