import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** Every library source file (tests excluded), with its text. */
function sources(dir = new URL('src/', root).pathname): Array<[string, string]> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) return [];
    return [[path, readFileSync(path, 'utf8')] as [string, string]];
  });
}

describe('package.json', () => {
  it('lists as runtime dependencies only packages the library imports', () => {
    const code = sources().map(([, text]) => text);
    for (const pkg of Object.keys(manifest.dependencies)) {
      const escaped = pkg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      // `import type` counts too: such a package's types are part of the published .d.ts files.
      const imported = new RegExp(`(from |import\\()'${escaped}(/[^']*)?'`);
      expect(
        code.some((text) => imported.test(text)),
        `${pkg} is a dependency but src/ never imports it`,
      ).toBe(true);
    }
  });

  it('pins every runtime dependency to an exact version', () => {
    for (const [pkg, version] of Object.entries(manifest.dependencies)) {
      expect(version, pkg).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });
});
