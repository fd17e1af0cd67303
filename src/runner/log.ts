/**
 * The formation's log: every child's lines, prefixed `HH:MM:SS web.1 | `, or one JSON object
 * per line. Lines are written whole, in the order they completed, with one synchronous write each,
 * so lines of different processes never interleave.
 * @module
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** foreman's 12 colours (cyan, yellow, green, magenta, red, blue, then their bright forms). */
const COLOURS = [36, 33, 32, 35, 31, 34, 96, 93, 92, 95, 91, 94] as const;

/** Where and how log lines are written. */
export interface LogOptions {
  /** Default: process.stdout. */
  out?: { write(chunk: string): unknown; isTTY?: boolean };
  /** One JSON object per line: `{"time","name","stream","line"}`. */
  json?: boolean;
  /** Colour names; default: only when `out` is a TTY and NO_COLOR is unset. */
  colour?: boolean;
  /** Clock for the timestamp (tests). */
  now?: () => Date;
}

/**
 * Multiplexes many processes' output into one stream.
 *
 * @example
 * ```ts
 * const log = new FormationLog({ json: false });
 * log.system('starting');
 * log.attach('web.1', child.stdout, 'stdout');
 * ```
 */
export class FormationLog {
  readonly #out: { write(chunk: string): unknown; isTTY?: boolean };
  readonly #json: boolean;
  readonly #colour: boolean;
  readonly #now: () => Date;
  #width = 'system'.length;
  readonly #colourOf = new Map<string, number>();

  constructor(options: LogOptions = {}) {
    this.#out = options.out ?? process.stdout;
    this.#json = options.json ?? false;
    this.#colour = options.colour ?? (Boolean(this.#out.isTTY) && !process.env.NO_COLOR);
    this.#now = options.now ?? (() => new Date());
  }

  /** Make room for `name` in the padded prefix column. */
  reserve(name: string): void {
    this.#width = Math.max(this.#width, name.length);
  }

  /** Write one line attributed to `name`. */
  line(name: string, text: string, stream = 'stdout'): void {
    const time = this.#now();
    if (this.#json) {
      this.#out.write(
        `${JSON.stringify({ time: time.toISOString(), name, stream, line: text })}\n`,
      );
      return;
    }
    this.reserve(name);
    const prefix = `${hhmmss(time)} ${name.padEnd(this.#width)} |`;
    this.#out.write(`${this.#paint(name, prefix)} ${text}\n`);
  }

  /** A message of the runner itself. */
  system(text: string): void {
    this.line('system', text, 'system');
  }

  /**
   * Split a child's stream into lines. A partial last line is flushed when the stream ends.
   * Resolves when the stream has ended and everything was written.
   */
  attach(name: string, stream: Readable, kind: 'stdout' | 'stderr'): Promise<void> {
    this.reserve(name);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    const emit = (chunk: string) => {
      pending += chunk;
      let nl = pending.indexOf('\n');
      while (nl !== -1) {
        this.line(name, pending.slice(0, nl).replace(/\r$/, ''), kind);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    };
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => emit(decoder.write(chunk)));
      const finish = () => {
        emit(decoder.end());
        if (pending !== '') this.line(name, pending, kind);
        pending = '';
        resolve();
      };
      stream.once('end', finish);
      stream.once('error', finish);
    });
  }

  #paint(name: string, text: string): string {
    if (!this.#colour) return text;
    if (name === 'system') return `\x1b[1m${text}\x1b[0m`;
    let code = this.#colourOf.get(name);
    if (code === undefined) {
      code = COLOURS[this.#colourOf.size % COLOURS.length]!;
      this.#colourOf.set(name, code);
    }
    return `\x1b[${code}m${text}\x1b[0m`;
  }
}

function hhmmss(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
