import { js, ts } from '../rule-tester.test-helpers.js';
import { noMemoryLimiterOrCache as rule } from './no-memory-limiter-or-cache.js';

js.run('drove/no-memory-limiter-or-cache', rule, {
  valid: [
    // Limiters on a shared store.
    `import { rateLimit } from 'express-rate-limit'; import { RedisStore } from 'rate-limit-redis';
     app.use(rateLimit({ windowMs: 60000, limit: 100, store: new RedisStore({ sendCommand }) }));`,
    `import rateLimit from 'express-rate-limit'; app.use(rateLimit(options));`,
    `await fastify.register(import('@fastify/rate-limit'), { max: 100, redis: new Redis() });`,
    `const ratelimit = require('koa-ratelimit'); app.use(ratelimit({ driver: 'redis', db: new Redis() }));`,
    `import { RateLimiterRedis, RateLimiterMemory } from 'rate-limiter-flexible';
     const limiter = new RateLimiterRedis({ storeClient: redis, insuranceLimiter: new RateLimiterMemory({ points: 5 }) });`,
    // A read-through cache of data that lives elsewhere.
    `import { LRUCache } from 'lru-cache'; const pages = new LRUCache({ max: 500 });
     app.get('/p/:id', async (req, res) => { let page = pages.get(req.params.id);
       if (!page) { page = await db.page(req.params.id); pages.set(req.params.id, page); } res.json(page); });`,
    `const NodeCache = require('node-cache'); const rates = new NodeCache({ stdTTL: 60 });
     app.get('/rates', async (req, res) => { const r = await fetchRates(); rates.set('rates', r); res.json(r); });`,
    // A Keyv on a shared store.
    `import Keyv from 'keyv'; const kv = new Keyv('redis://localhost:6379');
     app.post('/', async (req, res) => { await kv.set(req.session.id, req.body); res.end(); });`,
    // Filled at start-up, not in a handler.
    `const NodeCache = require('node-cache'); const c = new NodeCache(); c.set('boot', { user: process.env.USER });`,
  ],
  invalid: [
    {
      code: `import { rateLimit } from 'express-rate-limit';
             app.use(rateLimit({ windowMs: 15 * 60 * 1000, limit: 100 }));`,
      errors: [{ messageId: 'limiter', data: { pkg: 'express-rate-limit' }, line: 2 }],
    },
    {
      code: `const RateLimit = require('express-rate-limit'); const limiter = new RateLimit({ max: 5 });`,
      errors: [{ messageId: 'limiter' }],
    },
    {
      code: `import rateLimit, { MemoryStore } from 'express-rate-limit'; app.use(rateLimit({ store: new MemoryStore() }));`,
      errors: [{ messageId: 'limiter' }],
    },
    {
      code: `const slowDown = require('express-slow-down'); app.use(slowDown({ delayAfter: 5 }));`,
      errors: [{ messageId: 'limiter', data: { pkg: 'express-slow-down' } }],
    },
    {
      code: `import rateLimit from '@fastify/rate-limit'; await fastify.register(rateLimit, { max: 100, timeWindow: '1 minute' });`,
      errors: [{ messageId: 'limiter', data: { pkg: '@fastify/rate-limit' } }],
    },
    {
      code: `const ratelimit = require('koa-ratelimit'); app.use(ratelimit({ driver: 'memory', db: new Map() }));`,
      errors: [{ messageId: 'limiter' }],
    },
    {
      code: `import { RateLimiterMemory } from 'rate-limiter-flexible'; const limiter = new RateLimiterMemory({ points: 10, duration: 1 });`,
      errors: [{ messageId: 'limiter' }],
    },
    {
      code: `import { rateLimiter } from 'hono-rate-limiter'; app.use(rateLimiter({ windowMs: 60000, limit: 100, keyGenerator: (c) => 'k' }));`,
      errors: [{ messageId: 'limiter' }],
    },
    {
      code: `const NodeCache = require('node-cache'); const carts = new NodeCache();
             app.post('/cart', (req, res) => { carts.set(req.session.id, req.body.items); res.end(); });`,
      errors: [{ messageId: 'cache', data: { pkg: 'node-cache', name: 'carts' }, line: 2 }],
    },
    {
      code: `import { LRUCache } from 'lru-cache'; const profiles = new LRUCache({ max: 1000 });
             app.put('/me', (req, res) => { const profile = { ...req.body, at: Date.now() }; profiles.set(req.user.id, profile); res.end(); });`,
      errors: [{ messageId: 'cache' }],
    },
    {
      code: `const cache = require('memory-cache');
             router.post('/draft', function (req, res) { cache.put('draft:' + req.params.id, req.body); res.end(); });`,
      errors: [{ messageId: 'cache', data: { pkg: 'memory-cache', name: 'cache' } }],
    },
    {
      code: `import Keyv from 'keyv'; const kv = new Keyv();
             app.post('/', async (req, res) => { await kv.set('x', req.body); res.end(); });`,
      errors: [{ messageId: 'cache', data: { pkg: 'keyv', name: 'kv' } }],
    },
  ],
});

ts.run('drove/no-memory-limiter-or-cache (TypeScript)', rule, {
  valid: [],
  invalid: [
    {
      code: `import { LRUCache } from 'lru-cache';
             const tokens = new LRUCache<string, Token>({ max: 100 });
             app.post('/token', (req: Request, res: Response) => { tokens.set(req.body.name as string, req.body as Token); res.end(); });`,
      errors: [{ messageId: 'cache', line: 3 }],
    },
  ],
});
