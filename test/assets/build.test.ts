/**
 * `drove build` / buildAssets: reproducible bytes, manifest contents, precompressed siblings,
 * configuration and compiler errors, and the CLI spawned on a fixture project.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAssets, readManifest } from '../../src/assets/index.js';
import { copyFixture } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function project(): string {
  const root = copyFixture();
  roots.push(root);
  return root;
}

/** Every file under `dir` (relative path -> bytes), sorted. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const visit = (sub: string) => {
    for (const name of readdirSync(path.join(dir, sub)).sort()) {
      const rel = path.posix.join(sub, name);
      if (statSync(path.join(dir, rel)).isDirectory()) visit(rel);
      else files.set(rel, readFileSync(path.join(dir, rel)));
    }
  };
  visit('');
  return files;
}

function setAssetsConfig(root: string, assets: unknown): void {
  const file = path.join(root, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  pkg.drove.assets = assets;
  writeFileSync(file, JSON.stringify(pkg));
}

describe('buildAssets', () => {
  it('gives byte-identical output for the same input in two different folders', async () => {
    const [a, b] = [project(), project()] as [string, string];
    const [ra, rb] = await Promise.all([buildAssets({ root: a }), buildAssets({ root: b })]);
    const sa = snapshot(ra.outdir);
    const sb = snapshot(rb.outdir);
    expect([...sa.keys()]).toEqual([...sb.keys()]);
    for (const [rel, bytes] of sa) expect(bytes.equals(sb.get(rel)!), rel).toBe(true);
    // And rebuilding in place replaces the folder with the same bytes again.
    await buildAssets({ root: a });
    const again = snapshot(ra.outdir);
    expect([...again.keys()]).toEqual([...sa.keys()]);
    for (const [rel, bytes] of sa) expect(bytes.equals(again.get(rel)!), rel).toBe(true);
  });

  it('writes content-hashed names, a sorted manifest and valid .br/.gz siblings', async () => {
    const root = project();
    const { outdir, manifest, files } = await buildAssets({ root });
    expect(outdir).toBe(path.join(root, 'build', 'assets'));
    expect(Object.keys(manifest.entries).sort()).toEqual(['app.css', 'app.js', 'style.css']);
    expect(manifest.entries['app.js']).toMatch(/^app\.[A-Z0-9]{8}\.js$/);
    expect(manifest.entries['style.css']).toMatch(/^style\.[A-Z0-9]{8}\.css$/);
    expect(Object.keys(manifest.files).some((f) => f.startsWith('chunks/heavy.'))).toBe(true);
    expect(Object.keys(manifest.files).some((f) => /^logo\.[A-Z0-9]{8}\.svg$/.test(f))).toBe(true);
    // The CSS references the image through the public path, by its hashed name.
    const css = readFileSync(path.join(outdir, manifest.entries['style.css']!), 'utf8');
    expect(css).toMatch(/url\("\/assets\/logo\.[A-Z0-9]{8}\.svg"\)/);

    const text = readFileSync(path.join(outdir, 'manifest.json'), 'utf8');
    expect(readManifest(outdir)).toEqual(manifest);
    const keys = Object.keys(JSON.parse(text).files);
    expect(keys).toEqual([...keys].sort());

    const app = files.find((f) => f.path === manifest.entries['app.js'])!;
    const original = readFileSync(path.join(outdir, app.path));
    expect(app.size).toBe(original.byteLength);
    const gz = readFileSync(path.join(outdir, `${app.path}.gz`));
    expect(gz.readUInt32LE(4)).toBe(0); // no mtime in the gzip header
    expect(gunzipSync(gz).equals(original)).toBe(true);
    expect(brotliDecompressSync(readFileSync(path.join(outdir, `${app.path}.br`)))).toEqual(
      original,
    );
    expect(app.integrity).toMatch(/^sha384-[A-Za-z0-9+/]{64}$/);
  });

  it('reports compiler errors as DROVE_ERR_BUILD_FAILED with the file and line', async () => {
    const root = project();
    writeFileSync(path.join(root, 'src/client/greet.ts'), 'export const = ;\n');
    await expect(buildAssets({ root })).rejects.toMatchObject({
      code: 'DROVE_ERR_BUILD_FAILED',
      message: expect.stringContaining('src/client/greet.ts:1:'),
    });
  });

  it('rejects bad configuration with DROVE_ERR_BUILD_CONFIG naming the field', async () => {
    const root = project();
    setAssetsConfig(root, { entries: { 'app.js': 'src/client/style.css' } });
    await expect(buildAssets({ root })).rejects.toMatchObject({
      code: 'DROVE_ERR_BUILD_CONFIG',
      message: expect.stringContaining('"entries.app.js"'),
    });
    setAssetsConfig(root, { entries: { 'app.js': 'src/client/app.ts' }, outdirr: 'x' });
    await expect(buildAssets({ root })).rejects.toMatchObject({
      message: expect.stringContaining('"outdirr"'),
    });
    writeFileSync(path.join(root, 'drove.config.json'), '{"assets":{"entries":{}}}');
    await expect(buildAssets({ root })).rejects.toMatchObject({
      message: expect.stringContaining('both places'),
    });
  });

  it('refuses to replace an outdir that is not an earlier build', async () => {
    const root = project();
    mkdirSync(path.join(root, 'build/assets'), { recursive: true });
    writeFileSync(path.join(root, 'build/assets/precious.txt'), 'keep me');
    await expect(buildAssets({ root })).rejects.toMatchObject({
      code: 'DROVE_ERR_BUILD_CONFIG',
      message: expect.stringContaining('"outdir"'),
    });
    expect(readFileSync(path.join(root, 'build/assets/precious.txt'), 'utf8')).toBe('keep me');
  });
});

describe('drove build (CLI, from dist/)', () => {
  it('builds the fixture project and prints the entries', () => {
    const root = project();
    const run = spawnSync(process.execPath, [CLI, 'build'], { cwd: root, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const manifest = readManifest(path.join(root, 'build/assets'));
    expect(run.stdout).toContain(`app.js -> ${manifest.entries['app.js']}`);
  });

  it('exits 1 with the coded error when the configuration is wrong', () => {
    const root = project();
    setAssetsConfig(root, { entries: { 'app.js': 'src/client/app.ts' }, publicPath: '/assets' });
    const run = spawnSync(process.execPath, [CLI, 'build', '--cwd', root], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('DROVE_ERR_BUILD_CONFIG');
    expect(run.stderr).toContain('"publicPath"');
  });
});
