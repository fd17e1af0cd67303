/**
 * `drove/no-memory-session-store`: a session middleware that keeps sessions in the memory of the
 * process. Behind a balancer the next request of the same user reaches another process, which
 * has never seen the session: the user is signed out at random, and every restart signs
 * everybody out.
 *
 * Reported: `express-session` (and `koa-generic-session`) called without a `store` option, or
 * with `store: undefined`; `@fastify/session` registered without a `store`; any construction of
 * a memory store (`new session.MemoryStore()`, `memorystore`, `hono-sessions`' `MemoryStore`).
 * Options built elsewhere (a parameter, a spread) are given the benefit of the doubt.
 */
import type { Rule } from 'eslint';
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import {
  type AnyNode,
  calleeOf,
  isUndefined,
  moduleOf,
  objectArgument,
  optionOf,
  refIs,
  registration,
} from '../resolve.js';

const advice = {
  defaultStore: {
    problem:
      '{{pkg}} without a `store` keeps sessions in the memory of this process: behind a balancer ' +
      'the next request reaches another process that does not know the session, and a restart ' +
      'signs everybody out.',
    fix: 'pass a shared, expiring store (drovejs/session with createStore(process.env.SESSION_STORE_URL), or a Redis/PostgreSQL store of the middleware).',
  },
  memoryStore: {
    problem:
      "{{pkg}}'s memory store keeps sessions in this process only: other processes do not see " +
      'them and a restart loses them.',
    fix: 'use a shared, expiring store (Redis, Memcached, PostgreSQL; drovejs/stores createStore(url)) in every environment but tests.',
  },
};

const MIDDLEWARES = ['express-session', 'koa-generic-session'];
const FASTIFY_PLUGINS = ['@fastify/session', 'fastify-session'];
/** Memory stores: module and member path of the class (or of the factory's result). */
const MEMORY_STORES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['express-session', ['MemoryStore']],
  ['memorystore', ['()']],
  ['hono-sessions', ['MemoryStore']],
  ['@fastify/session', ['MemoryStore']],
  ['koa-generic-session', ['MemoryStore']],
];

function lacksStore(context: Rule.RuleContext, options: AnyNode | undefined): boolean {
  if (!options) return true;
  const object = objectArgument(context, options);
  if (!object) return false; // built elsewhere: unknown, stay silent
  const store = optionOf(object, 'store');
  if (store === 'unknown') return false;
  return store === 'absent' || isUndefined(store.value as AnyNode);
}

export const noMemorySessionStore: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow session middleware that keeps sessions in the memory of one process',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    const check = (node: ESTree.CallExpression | ESTree.NewExpression) => {
      const callee = calleeOf(context, node);
      for (const [pkg, path] of MEMORY_STORES) {
        if (node.type === 'NewExpression' && refIs(callee, pkg, path)) {
          context.report({ node, messageId: 'memoryStore', data: { pkg } });
          return;
        }
      }
      if (callee && MIDDLEWARES.includes(callee.source) && callee.path.length === 0) {
        if (lacksStore(context, node.arguments[0] as AnyNode | undefined))
          context.report({ node, messageId: 'defaultStore', data: { pkg: callee.source } });
        return;
      }
      if (node.type !== 'CallExpression') return;
      const registered = registration(node);
      if (!registered) return;
      const plugin = moduleOf(context, registered.plugin);
      if (plugin && FASTIFY_PLUGINS.includes(plugin.source) && plugin.path.length === 0) {
        if (lacksStore(context, registered.options))
          context.report({ node, messageId: 'defaultStore', data: { pkg: plugin.source } });
      }
    };
    return { CallExpression: check, NewExpression: check };
  },
};
