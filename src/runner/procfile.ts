/**
 * Procfile reader: foreman's and honcho's grammar, with the cases they disagree on made errors.
 * @module
 */
import { readFileSync } from 'node:fs';
import {
  ProcfileDuplicateError,
  ProcfileEmptyError,
  ProcfileEncodingError,
  ProcfileMissingError,
} from '../errors.js';

/** One `name: command` line of a Procfile. */
export interface ProcfileEntry {
  /** Process type, e.g. `web`. */
  name: string;
  /** The command exactly as written after `name:` and its blanks (trailing blanks kept). */
  command: string;
  /** 1-based line number in the file (after CRLF normalisation). */
  line: number;
}

/** A line the grammar ignores that is neither blank nor a `#` comment: likely a mistake. */
export interface IgnoredLine {
  line: number;
  text: string;
}

/**
 * foreman/honcho grammar. `\s` is spelled as ASCII whitespace because JavaScript's `\s` also
 * matches U+00A0 and friends where Ruby's does not; `[^\n]` stands for Ruby's `.` (which, unlike
 * JavaScript's, matches a lone `\r`).
 */
const LINE = /^([A-Za-z0-9_-]+):[ \t\v\f\r]*([^\n]+)$/;

/**
 * Parse Procfile text. Lines that do not match the grammar are ignored (free `#` comments), as
 * foreman does; those that are not blank or comments are passed to `onIgnored`, for a warning.
 * Duplicate names, an empty result and text that is not UTF-8 are errors naming `file`.
 *
 * @example
 * ```ts
 * parseProcfile('web: node server.js\nworker: node jobs.js\n', 'Procfile');
 * // [{ name: 'web', command: 'node server.js', line: 1 }, { name: 'worker', ... line: 2 }]
 * ```
 */
export function parseProcfile(
  source: string | Uint8Array,
  file = 'Procfile',
  onIgnored?: (ignored: IgnoredLine) => void,
): ProcfileEntry[] {
  const text = typeof source === 'string' ? source : decodeUtf8(source, file);
  const entries: ProcfileEntry[] = [];
  const firstLine = new Map<string, number>();
  text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .forEach((raw, index) => {
      const match = LINE.exec(raw);
      const line = index + 1;
      if (!match) {
        if (!/^[ \t\v\f\r]*(#|$)/.test(raw)) onIgnored?.({ line, text: raw });
        return;
      }
      const name = match[1]!;
      const seen = firstLine.get(name);
      if (seen !== undefined)
        throw new ProcfileDuplicateError({ file, line, name, firstLine: seen });
      firstLine.set(name, line);
      entries.push({ name, command: match[2]!, line });
    });
  if (entries.length === 0) throw new ProcfileEmptyError({ file });
  return entries;
}

/**
 * Read and parse a Procfile from disk.
 *
 * @example
 * ```ts
 * const entries = readProcfile('Procfile');
 * ```
 */
export function readProcfile(
  file: string,
  onIgnored?: (ignored: IgnoredLine) => void,
): ProcfileEntry[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ProcfileMissingError({ file });
    throw err;
  }
  return parseProcfile(bytes, file, onIgnored);
}

/** Names that are process types in most Procfiles: `web node a.js` surely lost its colon. */
const COMMON_TYPES = /^(web|worker|release|clock|scheduler|jobs?|queue|cron)$/;

/**
 * The warning for a line the grammar ignored, with the entry it most likely meant.
 *
 * @example
 * ```ts
 * ignoredLineWarning('Procfile', { line: 2, text: 'web2 : node x.js' });
 * // 'Procfile:2: ignored, not a "name: command" line: "web2 : node x.js" (did you mean "web2: node x.js"?)'
 * ```
 */
export function ignoredLineWarning(file: string, ignored: IgnoredLine): string {
  const text = ignored.text.replace(/\r$/, '');
  const spacedColon = /^[ \t]*([A-Za-z0-9_-]+)[ \t]+:[ \t]*(\S.*)$/.exec(text);
  const noColon = /^[ \t]*([A-Za-z0-9_-]+)[ \t]+(\S.*)$/.exec(text);
  const meant = spacedColon ?? (noColon && COMMON_TYPES.test(noColon[1]!) ? noColon : null);
  const hint = meant ? ` (did you mean ${JSON.stringify(`${meant[1]}: ${meant[2]}`)}?)` : '';
  return `${file}:${ignored.line}: ignored, not a "name: command" line: ${JSON.stringify(text)}${hint}`;
}

/** Decode strictly: a UTF-16 file (common from Windows' `echo web: ... > Procfile`) is refused. */
function decodeUtf8(bytes: Uint8Array, file: string): string {
  const bom16 =
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  if (bom16) {
    throw new ProcfileEncodingError({
      file,
      reason: 'the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8',
    });
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch {
    const line = lineOfFirstInvalidByte(bytes);
    throw new ProcfileEncodingError({ file: `${file}:${line}`, reason: 'not valid UTF-8' });
  }
}

function lineOfFirstInvalidByte(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}
