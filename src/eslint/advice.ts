/**
 * What each finding says: the problem (why it breaks under several processes) and the fix. ESLint
 * shows them as one message; `drove check --static` prints the fix on its own line.
 */
import type { Rule } from 'eslint';

export interface Advice {
  /** What was found and why it breaks with several processes; may use `{{placeholders}}`. */
  problem: string;
  /** What to do instead; plain text, no placeholders. */
  fix: string;
}

/** The separator between problem and fix in an ESLint message. */
export const FIX_SEPARATOR = ' Fix: ';

/** ESLint `meta.messages` from advice entries. */
export function messagesOf<K extends string>(advice: Record<K, Advice>): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const id of Object.keys(advice) as K[]) {
    out[id] = `${advice[id].problem}${FIX_SEPARATOR}${advice[id].fix}`;
  }
  return out;
}

/** A drove rule: an ESLint rule plus its advice, keyed by message id. */
export interface DroveRule extends Rule.RuleModule {
  advice: Record<string, Advice>;
}
