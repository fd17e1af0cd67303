// Styles compiled by the running app: a Sass middleware, and a theme compiled per request.
const path = require('node:path');
const express = require('express');
const sassMiddleware = require('node-sass-middleware');
const sass = require('sass');

const app = express();
app.use(
  sassMiddleware({
    src: path.join(__dirname, 'styles'),
    dest: path.join(__dirname, 'public'),
    outputStyle: 'compressed',
  }),
);

app.get('/theme.css', (req, res) => {
  const colour = /^[0-9a-f]{6}$/.test(req.query.c) ? req.query.c : '336699';
  res.type('css').send(sass.compileString(`$c: #${colour}; body { color: $c; }`).css);
});

module.exports = app;
