import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('drovejs/scratch imports', () => {
  it('imports only node: builtins and ipaddr.js at runtime: no framework, no HTTP client', () => {
    const dir = import.meta.dirname;
    for (const file of readdirSync(dir).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    )) {
      const source = readFileSync(join(dir, file), 'utf8');
      const runtime = [
        ...source.matchAll(/^import (?!type )[^;]*? from '([^']+)'/gms),
        ...source.matchAll(/\bimport\('([^']+)'\)/g),
      ].map((m) => m[1]);
      for (const pkg of runtime) {
        expect(pkg, `${file} imports ${pkg}`).toMatch(/^(node:|\.\.?\/|ipaddr\.js$)/);
      }
    }
  });
});
