/**
 * How a Procfile command is handed to `sh -c`. A simple command line (one command, no `;`, `&`,
 * `|`, subshells or newlines) gets an `exec` in front, as foreman's habit is: the shell replaces
 * itself with the app, so the pid the runner reports is the app's own and a signal sent to it (by
 * an operator, or the OOM killer) reaches the app. Anything else keeps the shell as a wrapper.
 * @module
 */

/** Words `exec` cannot run: shell keywords and builtins that have no program of the same name. */
const NOT_PROGRAMS = new Set(
  (
    'if then else elif fi case esac for while until do done function select time ! { } [[ ' +
    ': . source break continue eval exec exit export readonly return set shift times trap unset ' +
    'alias unalias bg fg jobs read wait umask ulimit command getopts hash type local cd'
  ).split(' '),
);

/** Redirections such as `2>&1` or `>&-`: their `&` does not put anything in the background. */
const FD_REDIRECTION = /\d*[<>]&(\d+|-)/g;
const META = /[;&|()`\n]/;
const LEADING_ASSIGNMENTS = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*=[^\s'"\\]*[ \t]+)*/;

/** The command as `sh -c` runs it, and whether the shell execs it (no wrapper stays behind). */
export interface ShellCommand {
  script: string;
  exec: boolean;
}

/**
 * Decide how to run `command`.
 *
 * @example
 * ```ts
 * shellCommand('node server.js --port $PORT'); // { script: 'exec node server.js --port $PORT', exec: true }
 * shellCommand('NODE_ENV=production node a.js'); // { script: 'NODE_ENV=production exec node a.js', exec: true }
 * shellCommand('npm run migrate && node a.js'); // { script: 'npm run migrate && node a.js', exec: false }
 * ```
 */
export function shellCommand(command: string): ShellCommand {
  const wrapped = { script: command, exec: false };
  if (META.test(command.replace(FD_REDIRECTION, ''))) return wrapped;
  const prefix = LEADING_ASSIGNMENTS.exec(command)?.[0] ?? '';
  const rest = command.slice(prefix.length);
  const program = rest.split(/[ \t]/, 1)[0] ?? '';
  if (program === 'exec') return { script: command, exec: true };
  // A quoted assignment (`A="x y" node`) or a keyword: leave it to the shell.
  if (program === '' || program.includes('=') || NOT_PROGRAMS.has(program)) return wrapped;
  return { script: `${prefix}exec ${rest}`, exec: true };
}
