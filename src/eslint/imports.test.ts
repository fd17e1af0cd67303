import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '..');

/** Runtime imports (not `import type`) of a module and of everything it imports, transitively. */
function runtimeGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^(?:import|export) (?!type )[^;]*? from '([^']+)'/gms),
      ...source.matchAll(/\bimport\('([^']+)'\)/g),
    ].map((m) => m[1]!);
    for (const spec of specifiers) {
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      if (existsSync(target)) queue.push(target);
    }
  }
  return { files, packages };
}

describe('what importing drove loads', () => {
  it('drovejs/eslint loads neither the CLI nor eslint nor typescript-eslint', () => {
    const { files, packages } = runtimeGraph(path.join(src, 'eslint/index.ts'));
    expect(files.size).toBeGreaterThan(5);
    expect([...files].filter((f) => path.relative(src, f).startsWith(`cli${path.sep}`))).toEqual(
      [],
    );
    expect([...packages].filter((p) => !p.startsWith('node:'))).toEqual([]);
  });

  it('the library root and the other subpaths never load the ESLint plugin or eslint', () => {
    const pkg = JSON.parse(readFileSync(path.join(src, '../package.json'), 'utf8')) as {
      exports: Record<string, { default?: string } | string>;
    };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './eslint' || typeof target === 'string' || !target.default) continue;
      const entry = path.join(
        src,
        target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'),
      );
      const { files, packages } = runtimeGraph(entry);
      const plugin = [...files].filter((f) =>
        path.relative(src, f).startsWith(`eslint${path.sep}`),
      );
      expect(plugin, subpath).toEqual([]);
      expect(
        [...packages].filter((p) => /eslint/.test(p)),
        subpath,
      ).toEqual([]);
    }
  });
});
