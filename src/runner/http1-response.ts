/**
 * An incremental HTTP/1.1 response parser for the balancer's instance connections: the status
 * line and headers, then the body framed by Content-Length, chunked encoding or the end of the
 * connection. It only reads responses of drove's own instances on loopback, one at a time per
 * connection (no pipelining), so it is strict and small rather than lenient and general.
 * @module
 */

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

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

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
            if (joined.length > MAX_HEAD) throw new BadResponseError('response head too large');
            this.#pending = joined;
            return;
          }
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
          const size = line.text.split(';', 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new BadResponseError('bad chunk size');
          this.#remaining = Number.parseInt(size, 16);
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
    let transferEncoded = false;
    let close = match[1] === '0';
    let keepAliveMs: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw new BadResponseError('bad header line');
      const value = line.slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) throw new BadResponseError('bad content-length');
        const n = Number(value);
        if (contentLength >= 0 && contentLength !== n)
          throw new BadResponseError('conflicting content-length');
        contentLength = n;
      } else if (lower === 'transfer-encoding') {
        transferEncoded = true;
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      } else if (lower === 'keep-alive') {
        const timeout = /(?:^|,)\s*timeout=(\d{1,6})/i.exec(value);
        if (timeout) keepAliveMs = Number(timeout[1]) * 1000;
      } else if (lower === 'connection') {
        const tokens = value.toLowerCase();
        if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) close = true;
        else if (match[1] === '0' && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) close = false;
      }
      headers.push(name, value);
    }
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
