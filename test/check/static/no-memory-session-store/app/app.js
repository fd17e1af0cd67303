// A sign-in page whose sessions live in the process: express-session's default MemoryStore.
const express = require('express');
const session = require('express-session');

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(session({ secret: process.env.SECRET, resave: false, saveUninitialized: false }));

app.post('/login', (req, res) => {
  req.session.user = req.body.name;
  res.redirect('/');
});

app.get('/', (req, res) => {
  res.send(req.session.user ? `Hello ${req.session.user}` : 'Please sign in');
});

module.exports = app;
