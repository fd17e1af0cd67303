import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import plugin, { FIX_SEPARATOR, fixOf, rules } from './index.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/check.md'), 'utf8');

describe('drovejs/eslint', () => {
  it('recommends every rule as an error, under the drove/ prefix, for JS and TS files', () => {
    const recommended = plugin.configs.recommended;
    expect(Object.keys(recommended.rules ?? {}).sort()).toEqual(
      Object.keys(rules)
        .map((name) => `drove/${name}`)
        .sort(),
    );
    expect(Object.values(recommended.rules ?? {})).toEqual(Object.keys(rules).map(() => 'error'));
    expect(recommended.plugins?.drove).toBe(plugin);
    expect(recommended.files).toEqual(['**/*.{js,mjs,cjs,jsx,ts,mts,cts,tsx}']);
  });

  for (const [name, rule] of Object.entries(rules)) {
    it(`${name}: every message has a problem and a fix, and docs/check.md documents the rule`, () => {
      expect(rule.meta?.docs?.description).toBeTruthy();
      const messages = rule.meta?.messages ?? {};
      expect(Object.keys(messages).sort()).toEqual(Object.keys(rule.advice).sort());
      for (const [id, text] of Object.entries(messages)) {
        const fix = fixOf(`drove/${name}`, id);
        expect(fix, id).toBeTruthy();
        expect(text.endsWith(`${FIX_SEPARATOR}${fix}`), id).toBe(true);
        expect(fix, 'the fix is printed as is: no placeholders').not.toMatch(/\{\{/);
      }
      expect(doc).toContain(`### drove/${name}\n`);
    });
  }

  it('has no fix for rules that are not drove rules', () => {
    expect(fixOf('no-unused-vars', 'unusedVar')).toBeUndefined();
    expect(fixOf(null, undefined)).toBeUndefined();
  });
});
