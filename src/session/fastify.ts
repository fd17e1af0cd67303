/**
 * `drovejs/session/fastify`: sessions as a Fastify 5 plugin (`request.session`).
 * @module
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FastifyStyleSession, fastifyStyle, withFrameworkAnswer } from './fastify-style.js';
import type { RequestSession } from './request-session.js';
import { answerFor } from './respond.js';
import { createSessions, nodeRequest } from './sessions.js';
import type { AdapterOptions, DefaultSessionData, SessionData, SessionOptions } from './types.js';

export type {
  FastifySessionCallback,
  FastifyStyleControls,
  FastifyStyleSession,
} from './fastify-style.js';
export type * from './types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by drove's session plugin: plain properties, drove's controls and @fastify/session's
     * `get`/`set`/`save`/`touch`/`regenerate(keys)`/`destroy(cb)`/`sessionId`. Type your data by
     * augmenting `DefaultSessionData`.
     */
    session: FastifyStyleSession<DefaultSessionData>;
  }
}

const kCurrent = Symbol('drove.session.current');

type WithCurrent = FastifyRequest & { [kCurrent]?: RequestSession<SessionData> | null };

/** The plugin `session()` returns. */
export type FastifySessionPlugin = (
  fastify: FastifyInstance,
  options: unknown,
  done: (err?: Error) => void,
) => void;

/**
 * A Fastify 5 plugin: `request.session` holds the data and the controls (`update`, `regenerate`,
 * `destroy`, `setOwner`, `destroyAll`), and @fastify/session's methods (`get`, `set`, `save`,
 * `touch`, `sessionId`, `regenerate(keys)`, `destroy(cb)`), so @fastify/passport works unchanged.
 * The session is saved in `onSend`, before the head goes out, so a failed save reaches the
 * client. CSRF refusals answer 403 and an unreachable store 503 with Retry-After; with
 * `errors: 'pass'` errors are thrown to Fastify's error handler. An error thrown by a control in
 * a handler carries `statusCode` and `headers`, so Fastify's default handler answers it 503 with
 * Retry-After and JSON. The plugin is not encapsulated: register it once at the root.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createStore } from 'drovejs/stores';
 * import { session } from 'drovejs/session/fastify';
 * const app = Fastify();
 * await app.register(session({ store: createStore('sqlite:.drove/sessions.db') }));
 * app.post('/visit', async (request) => {
 *   await request.session.update((s) => { s.visits = ((s.visits as number) ?? 0) + 1; });
 *   return { visits: request.session.visits };
 * });
 * ```
 */
export function session<T extends SessionData = SessionData>(
  options: SessionOptions<T> & AdapterOptions,
): FastifySessionPlugin {
  const sessions = createSessions(options);
  const { errors, retryAfterSeconds } = options;

  const answer = (reply: FastifyReply, err: unknown) => {
    const found = answerFor(err, errors, retryAfterSeconds);
    // errors: 'pass' (or not drove's): Fastify's error handling answers, with err.headers.
    if (!found) throw withFrameworkAnswer(err, retryAfterSeconds);
    reply.code(found.status).headers(found.headers);
    return found.body;
  };

  const plugin = function droveSession(
    fastify: FastifyInstance,
    _options: unknown,
    done: (err?: Error) => void,
  ) {
    fastify.decorateRequest('session', null as unknown as FastifyStyleSession<DefaultSessionData>);
    fastify.decorateRequest(kCurrent, null);
    fastify.addHook('onRequest', async (request: WithCurrent, reply) => {
      const raw = request.raw;
      const tls = (raw.socket as TLSSocket | undefined)?.encrypted === true;
      const info = nodeRequest(raw.method, raw.headers, tls);
      try {
        const current = await sessions.load(info);
        request[kCurrent] = current as unknown as RequestSession<SessionData>;
        request.session = fastifyStyle(
          current as unknown as RequestSession<DefaultSessionData>,
          retryAfterSeconds,
        );
      } catch (err) {
        return reply.send(answer(reply, err));
      }
    });
    fastify.addHook('onSend', async (request: WithCurrent, reply, payload) => {
      const current = request[kCurrent];
      if (!current) return payload;
      try {
        const cookies = await current.commit();
        if (cookies.length > 0) reply.header('set-cookie', cookies);
        return payload;
      } catch (err) {
        return answer(reply, err);
      }
    });
    done();
  };
  Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'drove-session',
  });
  return plugin;
}
