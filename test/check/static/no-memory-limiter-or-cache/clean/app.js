// The same API limited through Redis, carts in Redis, and a read-through cache of the catalogue
// (which lives in the database: losing the cache costs a query, not data).
const express = require('express');
const { rateLimit } = require('express-rate-limit');
const { RedisStore } = require('rate-limit-redis');
const { LRUCache } = require('lru-cache');
const { redis, catalogue } = require('./services');

const products = new LRUCache({ max: 500, ttl: 60_000 });
const app = express();
app.use(express.json());
app.use(
  rateLimit({
    windowMs: 60_000,
    limit: 100,
    store: new RedisStore({ sendCommand: (...args) => redis.sendCommand(args) }),
  }),
);

app.get('/products/:id', async (req, res) => {
  let product = products.get(req.params.id);
  if (!product) {
    product = await catalogue.find(req.params.id);
    products.set(req.params.id, product);
  }
  res.json(product);
});

app.put('/cart', async (req, res) => {
  await redis.set(`cart:${req.session.id}`, JSON.stringify(req.body.items), { EX: 3600 });
  res.status(204).end();
});

module.exports = app;
