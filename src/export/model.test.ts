import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFormation } from './model.js';

const dirs: string[] = [];
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'drove-model-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('buildFormation', () => {
  it('counts from -m, =0 leaves a type out, release apart, slugs for the engines', () => {
    const cwd = project({
      Procfile:
        'release: node migrate.js\nweb: node web.js\nslow_worker: node w.js\nclock: node c.js\n',
    });
    const f = buildFormation({ cwd, app: 'shop', formation: 'web=3,clock=0' });
    expect(f.types.map((t) => [t.name, t.slug, t.count, t.index])).toEqual([
      ['web', 'web', 3, 1],
      ['slow_worker', 'slow-worker', 1, 2],
    ]);
    expect(f.release?.command).toBe('node migrate.js');
    expect(f.web?.name).toBe('web');
    expect(f.image).toBe('shop:latest');
    expect(f.baseImage).toBe('node:24-slim');
    expect(f.shutdownTimeoutSeconds).toBe(30);
    expect(f.workdir).toBe('/srv/shop');
  });

  it('keeps the names of the .env variables only, sorted, without the ones drove sets', () => {
    const cwd = project({
      Procfile: 'web: node web.js\n',
      '.env': 'ZED=1\nPORT=8080\nAPI_KEY=secret\nHOST=0.0.0.0\n',
    });
    const f = buildFormation({ cwd, app: 'shop' });
    expect(f.envFiles).toEqual(['.env']);
    expect(f.envNames).toEqual(['API_KEY', 'ZED']);
    expect(JSON.stringify(f)).not.toContain('secret');
  });

  it('derives the app name from package.json (scope dropped), else the folder', () => {
    const cwd = project({ Procfile: 'web: x\n', 'package.json': '{"name":"@acme/Web_Shop"}' });
    expect(buildFormation({ cwd }).app).toBe('web-shop');
  });

  it('refuses sqlite: unless allowed, then warns', () => {
    const cwd = project({ Procfile: 'web: x\n', '.env': 'DATABASE_URL=sqlite:data.db\n' });
    expect(() => buildFormation({ cwd, app: 'a' })).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_EXPORT_LOCAL_STATE' }),
    );
    const f = buildFormation({ cwd, app: 'a', allowLocal: true });
    expect(f.warnings).toEqual([
      '.env: DATABASE_URL is a sqlite: URL; every host reads its own file (--allow-local)',
    ]);
  });

  it('refuses names and options the engines cannot take', () => {
    const cwd = project({ Procfile: 'web: x\n' });
    const code = (options: Parameters<typeof buildFormation>[0]) => {
      try {
        buildFormation({ cwd, ...options });
        return undefined;
      } catch (err) {
        return (err as { code?: string }).code;
      }
    };
    expect(code({ app: 'Shop' })).toBe('DROVE_ERR_EXPORT_NAME');
    expect(code({ app: 'a'.repeat(41) })).toBe('DROVE_ERR_EXPORT_NAME');
    expect(code({ app: 'shop', image: 'bad image' })).toBe('DROVE_ERR_INVALID_OPTION');
    expect(code({ app: 'shop', shutdownTimeoutSeconds: 0 })).toBe('DROVE_ERR_INVALID_OPTION');
    expect(code({ app: 'shop', healthPath: 'x' })).toBe('DROVE_ERR_INVALID_OPTION');
    expect(code({ app: 'shop', formation: 'web=0' })).toBe('DROVE_ERR_FORMATION');
    expect(code({ app: 'shop' })).toBeUndefined();
    const odd = project({ Procfile: 'web-: x\n' });
    expect(() => buildFormation({ cwd: odd, app: 'shop' })).toThrow(/start with a letter/);
  });
});
