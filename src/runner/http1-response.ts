/**
 * An incremental HTTP/1.1 response parser for the balancer's instance connections: the status
 * line and headers, then the body framed by Content-Length, chunked encoding or the end of the
 * connection. It only reads responses of drove's own instances on loopback, one at a time per
 * connection (no pipelining), so it is strict and small rather than lenient and general.
 *
 * It is at least as strict as llhttp (Node's own parser, in its default strict mode) on every
 * point of framing, so that a response the balancer relays is one a Node client would read the
 * same way: no obs-fold, no bare CR or LF, no control bytes in a field, one Content-Length line
 * and never beside Transfer-Encoding (RFC 9112 §6.3: such a response would desync the client),
 * chunked only as the final coding of an HTTP/1.1 response, a chunk size of hex digits with no
 * whitespace, well-formed trailers, and a head no larger than Node's `maxHeaderSize`.
 * `src/runner/http1-response.llhttp.test.ts` compares its verdicts with llhttp's on hostile bytes.
 * @module
 */
import { maxHeaderSize } from 'node:http';

/** A response head. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** Flat `[name, value, …]` list, in wire order, names as sent. */
  headers: string[];
  /** Whether the connection may carry another request after this response. */
  keepAlive: boolean;
  /** How long the server keeps the connection open when idle (`Keep-Alive: timeout=N`), in ms. */
  keepAliveMs?: number;
}

/** What the parser reports. */
export interface ResponseEvents {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The response is complete. Bytes after it (`extra`) mean the connection is unusable. */
  onEnd(extra: boolean): void;
}

/** Why a response could not be parsed. */
export class BadResponseError extends Error {
  readonly code = 'BAD_RESPONSE';
}

/** The head (status line, fields, final CRLF) as large as a Node client accepts, or smaller. */
const MAX_HEAD = maxHeaderSize;
/** A chunk-size line with its extensions; also the trailer section's size. */
const MAX_CHUNK_LINE = 1024;
const MAX_TRAILERS = 8 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
/** Status codes 100–999, a reason phrase of HTAB, SP, VCHAR and obs-text (RFC 9112 §4). */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d{2})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value: no CR, LF, NUL or other control byte but HTAB, no DEL (RFC 9110 §5.5). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** `1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] )`, no whitespace anywhere. */
const CHUNK_LINE =
  /^([0-9A-Fa-f]{1,12})((?:;[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?)*)$/;

enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

export class ResponseParser {
  #events: ResponseEvents;
  #state = State.Done;
  #headRequest = false;
  /** Head or line bytes not yet complete. */
  #pending: Buffer | undefined;
  /** Body bytes still expected (Length, ChunkData). */
  #remaining = 0;
  /** Bytes of the trailer section so far. */
  #trailerBytes = 0;

  constructor(events: ResponseEvents) {
    this.#events = events;
  }

  /** Expect a new response, to a HEAD request or not (a HEAD response has no body). */
  start(headRequest: boolean): void {
    this.#state = State.Head;
    this.#headRequest = headRequest;
    this.#pending = undefined;
    this.#remaining = 0;
  }

  /** Whether the body runs until the connection ends (the end of data completes it). */
  get untilClose(): boolean {
    return this.#state === State.UntilClose;
  }

  /** The connection ended: completes a body that runs until the close; else it was cut short. */
  finish(): boolean {
    if (this.#state !== State.UntilClose) return false;
    this.#state = State.Done;
    this.#events.onEnd(false);
    return true;
  }

  /** Feed bytes from the connection. Throws BadResponseError on a malformed response. */
  execute(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      switch (this.#state) {
        case State.Head: {
          const joined = this.#join(data);
          const end = joined.indexOf(CRLF2);
          if (end < 0) {
            if (joined.length >= MAX_HEAD) throw new BadResponseError('response head too large');
            this.#pending = joined;
            return;
          }
          if (end + 4 > MAX_HEAD) throw new BadResponseError('response head too large');
          this.#pending = undefined;
          data = joined.subarray(end + 4);
          this.#head(joined.toString('latin1', 0, end));
          break;
        }
        case State.Length: {
          data = this.#body(data);
          if (this.#remaining === 0) {
            // Bytes after the response are reported, not parsed: nothing was asked for them.
            this.#end(data.length > 0);
            return;
          }
          break;
        }
        case State.ChunkSize: {
          const line = this.#line(data);
          if (line === undefined) return;
          data = line.rest;
          const size = CHUNK_LINE.exec(line.text)?.[1];
          if (size === undefined) throw new BadResponseError('bad chunk size line');
          this.#remaining = Number.parseInt(size, 16);
          this.#trailerBytes = 0;
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          data = this.#body(data);
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          const line = this.#line(data);
          if (line === undefined) return;
          if (line.text !== '') throw new BadResponseError('chunk not followed by CRLF');
          data = line.rest;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailers are dropped: Node frames the response to the client itself.
          const line = this.#line(data);
          if (line === undefined) return;
          data = line.rest;
          if (line.text === '') {
            this.#end(data.length > 0);
            return;
          }
          this.#trailerBytes += line.text.length + 2;
          if (this.#trailerBytes > MAX_TRAILERS) throw new BadResponseError('trailers too large');
          fieldLine(line.text);
          break;
        }
        case State.UntilClose:
          this.#events.onBody(data);
          return;
        case State.Done:
          throw new BadResponseError('data after the response');
      }
    }
  }

  #head(text: string): void {
    const lines = text.split('\r\n');
    const match = STATUS_LINE.exec(lines[0] ?? '');
    if (!match) throw new BadResponseError('bad status line');
    const status = Number(match[2]);
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let close = match[1] === '0';
    let keepAliveMs: number | undefined;
    let transferEncodings = 0;
    const http10 = match[1] === '0';
    for (let i = 1; i < lines.length; i++) {
      const [name, value] = fieldLine(lines[i] as string);
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        // One line, one number: llhttp refuses a repeat even of the same value, and a list.
        if (contentLength >= 0) throw new BadResponseError('more than one content-length');
        if (!/^\d{1,15}$/.test(value)) throw new BadResponseError('bad content-length');
        contentLength = Number(value);
      } else if (lower === 'transfer-encoding') {
        transferEncodings++;
        chunked = transferCodings(value);
      } else if (lower === 'keep-alive') {
        const timeout = /(?:^|,)\s*timeout=(\d{1,6})/i.exec(value);
        if (timeout) keepAliveMs = Number(timeout[1]) * 1000;
      } else if (lower === 'connection') {
        const tokens = value.toLowerCase();
        if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) close = true;
        else if (http10 && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) close = false;
      }
      headers.push(name, value);
    }
    const transferEncoded = transferEncodings > 0;
    // RFC 9112 §6.3: Transfer-Encoding beside Content-Length is a smuggling vector; a proxy must
    // not relay both. HTTP/1.0 has no Transfer-Encoding (§6.1); a second line could hide a coding.
    if (transferEncoded && contentLength >= 0)
      throw new BadResponseError('transfer-encoding with content-length');
    if (transferEncoded && http10) throw new BadResponseError('transfer-encoding in HTTP/1.0');
    if (transferEncodings > 1) throw new BadResponseError('more than one transfer-encoding');
    if (status >= 100 && status < 200) {
      // Informational (100 Continue, 103 Early Hints): the final response follows. 101 would
      // switch protocols, which only upgrade requests may do, and those do not come here.
      if (status === 101) throw new BadResponseError('unexpected 101');
      this.#state = State.Head;
      return;
    }
    const head: ResponseHead = { status, statusText: match[3] ?? '', headers, keepAlive: !close };
    if (keepAliveMs !== undefined) head.keepAliveMs = keepAliveMs;
    if (this.#headRequest || status === 204 || status === 304) {
      this.#events.onHead(head);
      this.#end(false);
      return;
    }
    if (transferEncoded) {
      if (!chunked) {
        head.keepAlive = false;
        this.#state = State.UntilClose;
      } else this.#state = State.ChunkSize;
    } else if (contentLength >= 0) {
      this.#remaining = contentLength;
      this.#state = State.Length;
    } else {
      head.keepAlive = false;
      this.#state = State.UntilClose;
    }
    this.#events.onHead(head);
    if (this.#state === State.Length && this.#remaining === 0) this.#end(false);
  }

  /** Report up to `#remaining` body bytes of `data`; the bytes after them. */
  #body(data: Buffer): Buffer {
    const take = Math.min(this.#remaining, data.length);
    this.#remaining -= take;
    this.#events.onBody(take === data.length ? data : data.subarray(0, take));
    return data.subarray(take);
  }

  #end(extra: boolean): void {
    this.#state = State.Done;
    this.#events.onEnd(extra);
  }

  /** One CRLF-terminated line from pending + data, or undefined (bytes kept) if incomplete. */
  #line(data: Buffer): { text: string; rest: Buffer } | undefined {
    const joined = this.#join(data);
    const end = joined.indexOf(CRLF);
    if (end < 0) {
      if (joined.length > MAX_CHUNK_LINE) throw new BadResponseError('line too long');
      this.#pending = joined;
      return undefined;
    }
    this.#pending = undefined;
    return { text: joined.toString('latin1', 0, end), rest: joined.subarray(end + 2) };
  }

  #join(data: Buffer): Buffer {
    const pending = this.#pending;
    return pending ? Buffer.concat([pending, data]) : data;
  }
}

/** One `name: value` field line, checked as llhttp checks it; the value without its OWS. */
function fieldLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  const name = colon > 0 ? line.slice(0, colon) : '';
  // An empty name also catches obs-fold (a line that starts with SP or HTAB).
  if (!TOKEN.test(name)) throw new BadResponseError('bad header line');
  const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
  if (!FIELD_VALUE.test(value)) throw new BadResponseError('bad header value');
  return [name, value];
}

/**
 * Whether a Transfer-Encoding value ends in chunked (then the body is chunked; else it runs until
 * the close). A list of tokens; chunked only once, and only last (RFC 9112 §7).
 */
function transferCodings(value: string): boolean {
  const codings = value.split(',').map((c) => c.replace(/^[\t ]+|[\t ]+$/g, '').toLowerCase());
  for (const [i, coding] of codings.entries()) {
    if (!TOKEN.test(coding)) throw new BadResponseError('bad transfer-encoding');
    if (coding === 'chunked' && i !== codings.length - 1)
      throw new BadResponseError('chunked is not the final transfer coding');
  }
  return codings[codings.length - 1] === 'chunked';
}
