import { describe, expect, it } from 'vitest';
import { validateAssetsConfig } from './config.js';

const where = { root: '/project', source: 'package.json' };
const entries = { 'app.js': 'src/client/app.ts' };

describe('validateAssetsConfig', () => {
  it('fills defaults and resolves outdir inside the project', () => {
    expect(
      validateAssetsConfig({ entries: { ...entries, 'css/site.css': './a.css' } }, where),
    ).toEqual({
      root: '/project',
      source: 'package.json',
      entries: { 'app.js': 'src/client/app.ts', 'css/site.css': 'a.css' },
      outdir: '/project/build/assets',
      publicPath: '/assets/',
      minify: true,
      sourcemap: false,
      target: ['es2022'],
    });
  });

  it.each([
    [undefined, 'assets'],
    [{}, 'entries'],
    [{ entries: {} }, 'entries'],
    [{ entries: { app: 'a.ts' } }, 'entries.app'],
    [{ entries: { '../x.js': 'a.ts' } }, 'entries.../x.js'],
    [{ entries: { 'app.js': 'a.css' } }, 'entries.app.js'],
    [{ entries: { 'app.css': 'a.ts' } }, 'entries.app.css'],
    [{ entries: { 'app.js': '../outside.ts' } }, 'entries.app.js'],
    [{ entries: { 'app.js': 'a.ts', 'b.js': './a.ts' } }, 'entries.b.js'],
    [{ entries, outdir: '.' }, 'outdir'],
    [{ entries, outdir: '../elsewhere' }, 'outdir'],
    [{ entries, publicPath: '/assets' }, 'publicPath'],
    [{ entries, minify: 'yes' }, 'minify'],
    [{ entries, sourcemap: 1 }, 'sourcemap'],
    [{ entries, target: [] as string[] }, 'target'],
    [{ entries, target: 5 }, 'target'],
    [{ entries, entry: {} }, 'entry'],
  ])('%j fails naming field %s', (input, field) => {
    expect(() => validateAssetsConfig(input, where)).toThrow(
      expect.objectContaining({
        code: 'DROVE_ERR_BUILD_CONFIG',
        message: expect.stringContaining(`"${field}"`),
      }),
    );
  });
});
