// A shop API rate-limited in memory, with carts kept in a node-cache.
const express = require('express');
const { rateLimit } = require('express-rate-limit');
const NodeCache = require('node-cache');

const carts = new NodeCache({ stdTTL: 3600 });
const app = express();
app.use(express.json());
app.use(rateLimit({ windowMs: 60_000, limit: 100 }));

app.put('/cart', (req, res) => {
  carts.set(req.session.id, req.body.items);
  res.status(204).end();
});

app.get('/cart', (req, res) => {
  res.json(carts.get(req.session.id) ?? []);
});

module.exports = app;
