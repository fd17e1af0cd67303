// One server for the assets benchmark: `node server.mjs <kind> <build dir>`; prints
// {"port": N} on stdout once listening. drove kinds load the built library (`npm run build` first).
import { createServer } from 'node:http';

const [kind, dir] = process.argv.slice(2);
const listen = (server) =>
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));

if (kind.startsWith('drove')) {
  const { createAssets } = await import('drovejs/assets');
  const { nodeAssets } = await import('drovejs/assets/node');
  const { expressAssets } = await import('drovejs/assets/express');
  const { fastifyAssets } = await import('drovejs/assets/fastify');
  const assets = createAssets({ dir });
  if (kind === 'drove-node') {
    const serve = nodeAssets(assets);
    listen(createServer((req, res) => serve(req, res) || res.writeHead(404).end()));
  } else if (kind === 'drove-express') {
    const { default: express } = await import('express');
    const app = express();
    app.disable('x-powered-by');
    app.use(expressAssets(assets));
    listen(createServer(app));
  } else if (kind === 'drove-fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    await app.register(fastifyAssets(assets));
    await app.ready();
    listen(app.server);
  }
} else if (kind === 'serve-static') {
  // The usual Express set-up for hashed assets: long max-age, immutable, ETag on.
  const { default: express } = await import('express');
  const { default: serveStatic } = await import('serve-static');
  const app = express();
  app.disable('x-powered-by');
  app.use('/assets', serveStatic(dir, { immutable: true, maxAge: '1y', index: false }));
  listen(createServer(app));
} else if (kind === 'fastify-static') {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyStatic } = await import('@fastify/static');
  const app = Fastify();
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/assets/',
    immutable: true,
    maxAge: '1y',
    preCompressed: true,
    index: false,
  });
  await app.ready();
  listen(app.server);
} else {
  throw new Error(`unknown server kind ${kind}`);
}
