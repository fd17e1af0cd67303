/**
 * The code in docs/check.md runs: the eslint.config.js block, as written (with `drovejs/eslint`
 * and `typescript-eslint` resolved to this checkout, since the temp folder has no node_modules),
 * lints a JS and a TS file and reports drove's findings; the sample output is what the CLI
 * prints for the session fixture.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const doc = readFileSync(path.join(root, 'docs/check.md'), 'utf8');

function block(lang: string, containing: string): string {
  const blocks = [
    ...doc.matchAll(new RegExp(`\`\`\`${lang}[^\\n]*\\n([\\s\\S]*?)\`\`\``, 'g')),
  ].map((m) => m[1]!);
  const found = blocks.find((b) => b.includes(containing));
  if (!found) throw new Error(`docs/check.md has no ${lang} block with ${containing}`);
  return found;
}

describe('docs/check.md', () => {
  it('the eslint.config.js example runs and finds drove problems in JS and TS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drove-docs-check-'));
    try {
      const config = block('js', "from 'drovejs/eslint'")
        .replace(
          "'drovejs/eslint'",
          `'${pathToFileURL(path.join(root, 'dist/eslint/index.js')).href}'`,
        )
        .replace("'typescript-eslint'", `'${import.meta.resolve('typescript-eslint')}'`);
      writeFileSync(path.join(dir, 'eslint.config.mjs'), config);
      writeFileSync(
        path.join(dir, 'app.js'),
        "import session from 'express-session';\napp.use(session({ secret: 's' }));\n",
      );
      writeFileSync(
        path.join(dir, 'state.ts'),
        "let hits: number = 0;\napp.get('/', (req: Req, res: Res) => { hits++; res.end(); });\n",
      );
      const eslint = new ESLint({
        cwd: dir,
        overrideConfigFile: path.join(dir, 'eslint.config.mjs'),
      });
      const results = await eslint.lintFiles(['.']);
      const found = results
        .flatMap((r) => r.messages.map((m) => `${path.basename(r.filePath)}:${m.line} ${m.ruleId}`))
        .sort();
      expect(found).toEqual([
        'app.js:2 drove/no-memory-session-store',
        'state.ts:2 drove/no-module-state',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sample output is what the CLI prints for that app', () => {
    const sample = block('text', 'drove/no-memory-session-store');
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'dist/cli/main.js'), 'check', '--static'],
      { cwd: path.join(root, 'test/check/static/no-memory-session-store/app'), encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(sample);
  });
});
