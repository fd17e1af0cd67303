import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every project file a module reaches through its static imports and re-exports. */
function importGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
      visit(join(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
    }
    for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) {
      visit(join(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
    }
  };
  visit(join(src, entry));
  return [...seen].map((f) => relative(src, f)).sort();
}

describe('drovejs/process', () => {
  it('loads only the control protocol of the runner, not its balancer or supervisor', () => {
    expect(importGraph('process/index.ts')).toEqual(['process/index.ts', 'runner/protocol.ts']);
  });

  it('the graph walk does follow imports (the runner reaches its balancer)', () => {
    const graph = importGraph('runner/index.ts');
    expect(graph).toContain('runner/balancer.ts');
    expect(graph).toContain('runner/supervisor.ts');
    expect(graph).toContain('runner/protocol.ts');
  });
});
