// Styles built by `drove build`; the compiling middleware only in development.
const path = require('node:path');
const express = require('express');

const app = express();
if (process.env.NODE_ENV === 'development') {
  const sassMiddleware = require('node-sass-middleware');
  app.use(
    sassMiddleware({ src: path.join(__dirname, 'styles'), dest: path.join(__dirname, 'build') }),
  );
}
app.use(express.static(path.join(__dirname, 'build'), { immutable: true, maxAge: '1y' }));

app.get('/theme.css', (req, res) => {
  const colour = /^[0-9a-f]{6}$/.test(req.query.c) ? req.query.c : '336699';
  res.type('css').send(`body { color: #${colour}; }`);
});

module.exports = app;
