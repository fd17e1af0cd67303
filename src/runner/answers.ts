/**
 * The balancer's own answers to clients: JSON bodies with a stable `DROVE_ERR_*` code, the same
 * shape the session middleware answers with, never a stack trace.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DroveError } from '../errors.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function bodyOf(error: DroveError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}

/** Answer `res` with `error` (its status, JSON body) and any extra headers. */
export function answer(
  res: ServerResponse,
  error: DroveError,
  headers: Record<string, string> = {},
) {
  const body = bodyOf(error);
  res.sendDate = true;
  res.writeHead(error.statusCode ?? 500, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * The same answer written on a raw socket (a parse error, an upgrade or CONNECT request, where
 * there is no ServerResponse), then the connection is closed.
 */
export function answerRaw(socket: Duplex, error: DroveError, headers: Record<string, string> = {}) {
  const status = error.statusCode ?? 500;
  const body = bodyOf(error);
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n`;
  head += 'content-type: application/json; charset=utf-8\r\n';
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
  socket.end(head + body);
}
