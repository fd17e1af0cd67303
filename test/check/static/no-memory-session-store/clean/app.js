// The same page with its sessions in Redis: every process sees every session.
const express = require('express');
const session = require('express-session');
const { RedisStore } = require('connect-redis');
const { createClient } = require('redis');

const client = createClient({ url: process.env.REDIS_URL });
client.connect().catch(console.error);

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(
  session({
    store: new RedisStore({ client }),
    secret: process.env.SECRET,
    resave: false,
    saveUninitialized: false,
  }),
);

app.post('/login', (req, res) => {
  req.session.user = req.body.name;
  res.redirect('/');
});

app.get('/', (req, res) => {
  res.send(req.session.user ? `Hello ${req.session.user}` : 'Please sign in');
});

module.exports = app;
