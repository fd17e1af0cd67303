import { js, ts } from '../rule-tester.test-helpers.js';
import { noRuntimeAssets as rule } from './no-runtime-assets.js';

js.run('drove/no-runtime-assets', rule, {
  valid: [
    // Development-only branches.
    `import webpack from 'webpack'; import devMiddleware from 'webpack-dev-middleware';
     if (process.env.NODE_ENV !== 'production') app.use(devMiddleware(webpack(config)));`,
    `if (app.get('env') === 'development') { app.use(require('node-sass-middleware')({ src: __dirname })); }`,
    `const isDev = process.env.NODE_ENV === 'development';
     if (isDev) { const vite = await (await import('vite')).createServer({ server: { middlewareMode: true } }); app.use(vite.middlewares); }`,
    `if (process.env.NODE_ENV === 'production') app.use(express.static('dist')); else app.use(require('webpack-dev-middleware')(compiler));`,
    // Compiling at build time (a script, not a handler).
    `import * as sass from 'sass'; import fs from 'node:fs'; fs.writeFileSync('out.css', sass.compile('main.scss').css);`,
    `import { build } from 'esbuild'; await build({ entryPoints: ['src/client.ts'], outdir: 'dist' });`,
    // vite as a build tool, or in non-middleware mode.
    `import { build } from 'vite'; await build();`,
  ],
  invalid: [
    {
      code: `var sassMiddleware = require('node-sass-middleware');
             app.use(sassMiddleware({ src: path.join(__dirname, 'public'), dest: path.join(__dirname, 'public'), indentedSyntax: true, sourceMap: true }));`,
      errors: [{ messageId: 'middleware', data: { pkg: 'node-sass-middleware' }, line: 2 }],
    },
    {
      code: `app.use(require('less-middleware')(path.join(__dirname, 'public')));`,
      errors: [{ messageId: 'middleware', data: { pkg: 'less-middleware' } }],
    },
    {
      code: `import webpack from 'webpack'; import devMiddleware from 'webpack-dev-middleware'; import hot from 'webpack-hot-middleware';
             const compiler = webpack(config); app.use(devMiddleware(compiler)); app.use(hot(compiler));`,
      errors: [{ messageId: 'middleware' }, { messageId: 'middleware' }],
    },
    {
      code: `import stylus from 'stylus'; app.use(stylus.middleware(__dirname + '/public'));`,
      errors: [{ messageId: 'middleware', data: { pkg: 'stylus' } }],
    },
    {
      code: `import { createServer } from 'vite'; const vite = await createServer({ server: { middlewareMode: true }, appType: 'custom' }); app.use(vite.middlewares);`,
      errors: [{ messageId: 'middleware', data: { pkg: 'vite' } }],
    },
    {
      code: `import * as sass from 'sass';
             app.get('/style.css', (req, res) => { res.type('css').send(sass.compile('styles/main.scss').css); });`,
      errors: [{ messageId: 'compileInHandler', data: { pkg: 'sass' }, line: 2 }],
    },
    {
      code: `const less = require('less');
             app.get('/theme.css', async function (req, res) { const out = await less.render(theme(req.query.c)); res.send(out.css); });`,
      errors: [{ messageId: 'compileInHandler', data: { pkg: 'less' } }],
    },
    {
      code: `import esbuild from 'esbuild';
             fastify.get('/app.js', async (request, reply) => (await esbuild.build({ entryPoints: ['client.ts'], write: false })).outputFiles[0].text);`,
      errors: [{ messageId: 'compileInHandler', data: { pkg: 'esbuild' } }],
    },
  ],
});

ts.run('drove/no-runtime-assets (TypeScript)', rule, {
  valid: [],
  invalid: [
    {
      code: `import postcss from 'postcss'; import type { Request, Response } from 'express';
             app.get('/a.css', async (req: Request, res: Response) => { res.send((await postcss([plugin]).process(css, { from: undefined })).css); });`,
      errors: [{ messageId: 'compileInHandler', data: { pkg: 'postcss' } }],
    },
  ],
});
