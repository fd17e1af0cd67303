/**
 * The adversarial balancing of `drove check`: each request of a client goes to an instance other
 * than the one that served that client's previous request, whenever another is up.
 *
 * A client is known by up to three keys, from the most to the least specific: its session cookie,
 * its connection, its address. The balancer's `clientKey` hook ({@link adversarialKey}) packs them
 * into one string; the strategy remembers the last instance of each key and prices an instance by
 * the keys it served last. All keys are kept because a client changes connection between requests
 * (a new socket after a login), and has no cookie before its first response sets one.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseCookie } from 'cookie';
import type { Candidate, Strategy } from '../runner/index.js';

/** The keys a request's client is known by. */
export interface ClientKeys {
  /** The session cookie's value (`name=value`), when the request has one. */
  session?: string;
  /** One per client connection (the balancer's own key). */
  connection?: string;
  /** The remote address. */
  address?: string;
}

/**
 * Names taken for a session cookie when none is given: `connect.sid`, `drove.sid`, `sessionid`,
 * `PHPSESSID`, `session`, `koa.sess`... The whole Cookie header stands in when no name matches.
 */
const SESSION_LIKE = /sess|sid/i;

/** The session cookie of a Cookie header: named `name`, else session-like, else the whole header. */
export function sessionCookie(header: string | undefined, name?: string): string | undefined {
  if (!header) return undefined;
  const cookies = parseCookie(header);
  if (name !== undefined) {
    const value = cookies[name];
    return value === undefined ? undefined : `${name}=${value}`;
  }
  for (const [key, value] of Object.entries(cookies)) {
    if (SESSION_LIKE.test(key) && value !== undefined) return `${key}=${value}`;
  }
  return header.trim() === '' ? undefined : header.trim();
}

/** Pack {@link ClientKeys} into the balancer's one client string (spaces never occur inside). */
export function packKeys(keys: ClientKeys): string {
  const parts: string[] = [];
  if (keys.session !== undefined) parts.push(`s=${encodeURIComponent(keys.session)}`);
  if (keys.connection !== undefined) parts.push(`c=${encodeURIComponent(keys.connection)}`);
  if (keys.address !== undefined) parts.push(`a=${encodeURIComponent(keys.address)}`);
  return parts.join(' ');
}

/** Unpack a client string; one the balancer made itself (a retry's) is a connection key. */
export function unpackKeys(client: string | undefined): ClientKeys {
  if (!client) return {};
  if (!/^[sca]=/.test(client)) return { connection: client };
  const keys: ClientKeys = {};
  for (const part of client.split(' ')) {
    const value = decodeURIComponent(part.slice(2));
    if (part.startsWith('s=')) keys.session = value;
    else if (part.startsWith('c=')) keys.connection = value;
    else if (part.startsWith('a=')) keys.address = value;
  }
  return keys;
}

/** The balancer's `clientKey` hook for the adversarial mode. */
export function adversarialKey(
  cookieName?: string,
): (req: IncomingMessage, connection: string) => string {
  return (req, connection) => {
    const session = sessionCookie(req.headers.cookie, cookieName);
    const address = req.socket.remoteAddress;
    return packKeys({
      ...(session !== undefined ? { session } : {}),
      connection,
      ...(address !== undefined ? { address } : {}),
    });
  };
}

/**
 * What serving a key's previous request costs an instance. Finite, so that a client still gets an
 * answer when its previous instance is the only one up (during a restart). When the keys disagree
 * (each was served last by another instance) the session cookie wins, since it is the client;
 * then the address: a test process sends its clients' requests over whichever pooled connection
 * is free, so the previous request from its address is the better guess at the client's previous
 * request than the previous one on that connection (which the balancer avoids a little anyway).
 */
const WEIGHTS = { session: 4e7, address: 2e7, connection: 1e7 } as const;
const KINDS = ['session', 'connection', 'address'] as const;

/** The adversarial strategy; pass it to `createBalancer({ strategy })` with {@link adversarialKey}. */
export function adversarial(): Strategy {
  const last = new Map<string, Candidate>();
  const each = (client: string | undefined, fn: (key: string, kind: keyof ClientKeys) => void) => {
    const keys = unpackKeys(client);
    for (const kind of KINDS) {
      const value = keys[kind];
      if (value !== undefined) fn(`${kind}:${value}`, kind);
    }
  };
  return {
    cost(instance, { client }) {
      let cost = 0;
      each(client, (key, kind) => {
        if (last.get(key) === instance) cost += WEIGHTS[kind];
      });
      return cost;
    },
    chosen(instance, { client }) {
      each(client, (key) => {
        // Re-inserted, so that the Map's order is the order of last use and trimming drops the oldest.
        last.delete(key);
        last.set(key, instance);
      });
      if (last.size > 100_000)
        for (const key of [...last.keys()].slice(0, 50_000)) last.delete(key);
    },
    forget(instance) {
      for (const [key, i] of last) if (i === instance) last.delete(key);
    },
  };
}
