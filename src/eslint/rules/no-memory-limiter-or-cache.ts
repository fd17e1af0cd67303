/**
 * `drove/no-memory-limiter-or-cache`: an in-memory rate limiter, or an in-memory cache used as
 * the source of truth for user data. With N processes a limit of 100 requests becomes N × 100
 * and resets on every restart; data put in one process's cache is missing in the others.
 *
 * Reported:
 * - rate limiters on their default memory store: express-rate-limit and express-slow-down
 *   without `store`, `@fastify/rate-limit` without `redis` or `store`, koa-ratelimit with
 *   `driver: 'memory'`, hono-rate-limiter without `store`, rate-limiter-flexible's
 *   `RateLimiterMemory` (except as an `insuranceLimiter`), express-brute's `MemoryStore`;
 * - a module-scope node-cache, lru-cache, quick-lru, memory-cache, keyv (without a store) or
 *   cache-manager memory cache that a request handler fills with request data (`req.body`,
 *   `req.session`, `req.user`, the request itself) or under a session or user key. A cache of
 *   data that lives elsewhere (a read-through cache of a database or an API) is not reported:
 *   losing it costs a round trip, not data.
 */
import type { Rule, Scope } from 'eslint';
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import { analyseFunctions, enclosingFunction, kindAt, walk } from '../functions.js';
import {
  type AnyNode,
  calleeOf,
  findVariable,
  isUndefined,
  type ModuleRef,
  moduleOf,
  objectArgument,
  optionOf,
  propertyName,
  registration,
  unwrap,
} from '../resolve.js';

const advice = {
  limiter: {
    problem:
      '{{pkg}} counts requests in the memory of this process: with N processes a client gets N times the limit, and every restart resets it.',
    fix: 'give the limiter a shared store (Redis: rate-limit-redis, @fastify/rate-limit `redis`, rate-limiter-flexible RateLimiterRedis).',
  },
  cache: {
    problem:
      '{{pkg}} `{{name}}` is filled with user data in a request handler: it lives in this process only, so other processes miss it and a restart loses it.',
    fix: 'keep user data in a shared store (the session, Redis, the database); use an in-memory cache only for data that also lives elsewhere.',
  },
};

const LIMITERS: ReadonlyArray<readonly [string, string]> = [
  ['express-rate-limit', '()'],
  ['express-rate-limit', 'rateLimit.()'],
  ['express-rate-limit', 'new'],
  ['express-slow-down', '()'],
  ['express-slow-down', 'slowDown.()'],
  ['hono-rate-limiter', 'rateLimiter.()'],
];
const MEMORY_LIMITERS: ReadonlyArray<readonly [string, string]> = [
  ['express-rate-limit', 'MemoryStore.new'],
  ['express-brute', 'MemoryStore.new'],
  ['rate-limiter-flexible', 'RateLimiterMemory.new'],
];
const FASTIFY_LIMITERS = ['@fastify/rate-limit', 'fastify-rate-limit'];
const CACHES: ReadonlyArray<readonly [string, string]> = [
  ['node-cache', 'new'],
  ['lru-cache', 'new'],
  ['lru-cache', 'LRUCache.new'],
  ['quick-lru', 'new'],
  ['memory-cache', ''],
  ['memory-cache', 'Cache.new'],
  ['keyv', 'new'],
  ['keyv', 'Keyv.new'],
  ['cache-manager', 'createCache.()'],
  ['cache-manager', 'caching.()'],
];
const WRITERS = new Set(['set', 'put', 'mset', 'setMany']);
const REQUEST_PARTS = new Set(['body', 'session', 'user', 'cookies', 'files', 'file']);
const USER_KEYS = new Set(['session', 'user', 'userId', 'sessionID', 'sessionId']);

function memberPath(ref: ModuleRef): string {
  return ref.path.join('.');
}

function lacks(context: Rule.RuleContext, options: AnyNode | undefined, names: string[]): boolean {
  if (!options) return true;
  const object = objectArgument(context, options);
  if (!object) return false;
  for (const name of names) {
    const option = optionOf(object, name);
    if (option === 'unknown') return false;
    if (option !== 'absent' && !isUndefined(option.value as AnyNode)) return false;
  }
  return true;
}

/** Is a construction of keyv/cache-manager backed by a store (so not in memory)? */
function hasStore(
  context: Rule.RuleContext,
  ref: ModuleRef,
  init: ESTree.CallExpression | ESTree.NewExpression,
): boolean {
  const first = init.arguments[0] as AnyNode | undefined;
  if (ref.source === 'keyv') {
    if (!first) return false;
    const value = unwrap(first);
    if (value.type === 'Literal' || value.type === 'TemplateLiteral') return true;
    return !lacks(context, first, ['store', 'uri']) || init.arguments.length > 1;
  }
  if (ref.source === 'cache-manager') {
    if (memberPath(ref) === 'caching.()')
      return !(
        first &&
        unwrap(first).type === 'Literal' &&
        (unwrap(first) as ESTree.Literal).value === 'memory'
      );
    return !lacks(context, first, ['stores']);
  }
  return false;
}

function mentions(
  context: Rule.RuleContext,
  node: AnyNode | undefined,
  test: (n: AnyNode) => boolean,
  fn: AnyNode | undefined,
  depth = 0,
): boolean {
  if (!node || depth > 2) return false;
  let found = false;
  walk(context, node, (n) => {
    if (found) return;
    if (test(n)) found = true;
    else if (n.type === 'Identifier') {
      const def = findVariable(context, n)?.defs[0];
      if (
        def?.type === 'Variable' &&
        def.node.init &&
        enclosingFunction(def.node as AnyNode) === fn
      )
        found = mentions(context, def.node.init as AnyNode, test, fn, depth + 1);
    }
  });
  return found;
}

function isRequestData(n: AnyNode): boolean {
  if (n.type === 'MemberExpression') {
    const name = propertyName(n);
    return name !== undefined && REQUEST_PARTS.has(name);
  }
  return (
    n.type === 'Identifier' &&
    /^(req|request)$/.test(n.name) &&
    n.parent?.type !== 'MemberExpression'
  );
}

function isUserKey(n: AnyNode): boolean {
  if (n.type !== 'MemberExpression') return false;
  const name = propertyName(n);
  return name !== undefined && USER_KEYS.has(name);
}

function cacheVariables(
  context: Rule.RuleContext,
): Array<{ variable: Scope.Variable; pkg: string }> {
  const out: Array<{ variable: Scope.Variable; pkg: string }> = [];
  for (const statement of context.sourceCode.ast.body) {
    const declaration =
      statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type !== 'VariableDeclaration') continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type !== 'Identifier' || !declarator.init) continue;
      const init = unwrap(declarator.init as AnyNode);
      const ref = moduleOf(context, init);
      if (!ref) continue;
      const match = CACHES.find(([pkg, path]) => ref.source === pkg && memberPath(ref) === path);
      if (!match) continue;
      if (
        (init.type === 'CallExpression' || init.type === 'NewExpression') &&
        hasStore(context, ref, init)
      )
        continue;
      for (const variable of context.sourceCode.getDeclaredVariables(declarator))
        out.push({ variable, pkg: match[0] });
    }
  }
  return out;
}

export const noMemoryLimiterOrCache: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow in-memory rate limiters, and in-memory caches holding user data',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    const check = (node: ESTree.CallExpression | ESTree.NewExpression) => {
      const ref = calleeOf(context, node);
      const call = ref && {
        source: ref.source,
        path: [...ref.path, node.type === 'NewExpression' ? 'new' : '()'],
      };
      if (call) {
        const path = memberPath(call);
        if (LIMITERS.some(([pkg, p]) => call.source === pkg && path === p)) {
          if (lacks(context, node.arguments[0] as AnyNode | undefined, ['store']))
            context.report({ node, messageId: 'limiter', data: { pkg: call.source } });
          return;
        }
        if (MEMORY_LIMITERS.some(([pkg, p]) => call.source === pkg && path === p)) {
          const parent = (node as AnyNode).parent;
          // rate-limiter-flexible's documented fallback while Redis is down: memory on purpose.
          const insurance =
            parent?.type === 'Property' &&
            parent.key.type === 'Identifier' &&
            parent.key.name === 'insuranceLimiter';
          if (!insurance)
            context.report({ node, messageId: 'limiter', data: { pkg: call.source } });
          return;
        }
        if (call.source === 'koa-ratelimit' && path === '()') {
          const options = objectArgument(context, node.arguments[0] as AnyNode | undefined);
          const driver = options && optionOf(options, 'driver');
          if (
            driver &&
            typeof driver === 'object' &&
            driver.value.type === 'Literal' &&
            driver.value.value === 'memory'
          )
            context.report({ node, messageId: 'limiter', data: { pkg: call.source } });
          return;
        }
      }
      if (node.type !== 'CallExpression') return;
      const registered = registration(node);
      const plugin = registered && moduleOf(context, registered.plugin);
      if (plugin && FASTIFY_LIMITERS.includes(plugin.source) && plugin.path.length === 0)
        if (lacks(context, registered.options, ['redis', 'store']))
          context.report({ node, messageId: 'limiter', data: { pkg: plugin.source } });
    };
    return {
      CallExpression: check,
      NewExpression: check,
      'Program:exit'() {
        const caches = cacheVariables(context);
        if (caches.length === 0) return;
        const kinds = analyseFunctions(context);
        for (const { variable, pkg } of caches) {
          for (const ref of variable.references) {
            const member = (ref.identifier as AnyNode).parent;
            if (member?.type !== 'MemberExpression' || !WRITERS.has(propertyName(member) ?? ''))
              continue;
            const call = member.parent;
            if (call?.type !== 'CallExpression' || call.callee !== member) continue;
            if (kindAt(kinds, call) !== 'handler') continue;
            const fn = enclosingFunction(call);
            const [key, value] = call.arguments as AnyNode[];
            const userData =
              mentions(context, value, isRequestData, fn) || mentions(context, key, isUserKey, fn);
            if (!userData) continue;
            context.report({ node: call, messageId: 'cache', data: { pkg, name: variable.name } });
            break;
          }
        }
      },
    };
  },
};
