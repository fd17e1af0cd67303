/**
 * How a Procfile command becomes an engine's command: an argument vector when it is plain words
 * (so a minimal image needs no shell), else a shell script.
 * @module
 */

/** A Procfile command as an engine runs it. */
export type CommandForm =
  /** Plain words; `$PORT`/`${PORT}` inside a word is kept as the {@link PORT_MARK} placeholder. */
  | { kind: 'exec'; argv: string[] }
  /**
   * Needs `sh -c`. `execScript` is set when the script is one simple command (variables or
   * quotes but no operators): the same script with `exec` before the program (after any leading
   * `NAME=value`), so the program replaces the shell and gets the stop signal itself.
   */
  | { kind: 'shell'; script: string; execScript: string | undefined };

/** Stands for the value of PORT inside an `exec` argument. */
export const PORT_MARK = '\u0000PORT\u0000';

const PLAIN_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;
const PORT_REF = /\$\{PORT\}|\$PORT(?![A-Za-z0-9_])/g;
/** Characters that make a script more than one simple command. */
const OPERATORS = /[;&|<>()`\n]|\$\(/;

/**
 * Classify a Procfile command.
 *
 * @example
 * ```ts
 * commandForm('node build/web.js --port $PORT');
 * // { kind: 'exec', argv: ['node', 'build/web.js', '--port', PORT_MARK] }
 * commandForm('bundle exec sidekiq -e $RAILS_ENV'); // { kind: 'shell', script: ..., execScript: 'exec bundle ...' }
 * ```
 */
export function commandForm(command: string): CommandForm {
  const script = command.trim();
  const words = script.split(/[ \t]+/);
  const plain = words.every((w) => PLAIN_WORD.test(w.replace(PORT_REF, 'P')));
  // `FOO=1 cmd` sets a variable for cmd: only a shell does that.
  if (plain && words.length > 0 && !words[0]!.includes('=')) {
    return { kind: 'exec', argv: words.map((w) => w.replace(PORT_REF, PORT_MARK)) };
  }
  return { kind: 'shell', script, execScript: withExec(script) };
}

/** Leading `NAME=value` words with plain values (a quoted value would need a real parser). */
const ASSIGNMENTS = /^((?:[A-Za-z_][A-Za-z0-9_]*=[^\s'"\\$`]*[ \t]+)*)(.*)$/s;

function withExec(script: string): string | undefined {
  if (OPERATORS.test(script)) return undefined;
  const [, assignments = '', rest = ''] = ASSIGNMENTS.exec(script) ?? [];
  // `A="x y" cmd`: the first word is an assignment this does not split safely.
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(rest) || rest === '') return undefined;
  return `${assignments}exec ${rest}`;
}

/**
 * The argument vector for an engine: exec words with the port placeholder replaced by `port`,
 * or `/bin/sh -c SCRIPT` (prefixed with `exec` when that is safe).
 *
 * @example
 * ```ts
 * argvFor(commandForm('node web.js -p $PORT'), (mark) => mark.replaceAll(PORT_MARK, '5000'));
 * // ['node', 'web.js', '-p', '5000']
 * ```
 */
export function argvFor(form: CommandForm, word: (w: string) => string): string[] {
  if (form.kind === 'exec') return form.argv.map(word);
  return ['/bin/sh', '-c', form.execScript ?? form.script];
}

/** Replace the port placeholder by a literal port (containers: PORT is the same in each). */
export function literalPort(port: number): (w: string) => string {
  return (w) => w.replaceAll(PORT_MARK, String(port));
}
