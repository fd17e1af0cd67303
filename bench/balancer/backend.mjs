// One backend instance for the balancer benchmark: `node backend.mjs <realistic|bare> <port>`.
// realistic: Express 5 + express-session (MemoryStore) reading and writing a session on every
// request and answering a ~1 KB JSON document. bare: node:http hello world.
import { createServer } from 'node:http';

const [kind, portArg] = process.argv.slice(2);
const port = Number(portArg);

if (kind === 'bare') {
  createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 12 });
    res.end('hello world\n');
  }).listen(port, '127.0.0.1', () => process.send?.('ready'));
} else if (kind === 'realistic') {
  const { default: express } = await import('express');
  const { default: session } = await import('express-session');
  const store = new session.MemoryStore();
  // Every instance knows the benchmark's session (as a shared store would): share-nothing apps
  // keep it outside the process; MemoryStore here stands in for that lookup's CPU cost.
  const cookie = {
    originalMaxAge: 86_400_000,
    expires: new Date(Date.now() + 86_400_000),
    httpOnly: true,
    path: '/',
  };
  store.set('bench-session-0001', { cookie, views: 0 }, () => {});
  const app = express();
  app.disable('x-powered-by');
  app.use(session({ secret: 'bench-secret', store, resave: false, saveUninitialized: false }));
  const items = Array.from({ length: 12 }, (_, i) => ({
    id: i,
    name: `item ${i}`,
    price: i * 3.5,
    tags: ['a', 'b'],
  }));
  app.get('/', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    res.json({
      views: req.session.views,
      pid: process.pid,
      items: items.filter((x) => x.id % 2 === req.session.views % 2),
    });
  });
  app.listen(port, '127.0.0.1', () => process.send?.('ready'));
} else {
  throw new Error(`unknown backend kind ${kind}`);
}
