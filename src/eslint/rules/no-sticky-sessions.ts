/**
 * `drove/no-sticky-sessions`: configuration that pins a client to one process or machine. It
 * hides process-local state instead of removing it: when that process restarts or is scaled
 * away, the client's state goes with it, and load piles up on the instances that came first.
 *
 * Reported: importing `@socket.io/sticky`, `sticky-session`, `sticky-cluster` or
 * `socketio-sticky-session`; options named `sessionAffinity` (unless `'None'`),
 * `sessionAffinityConfig`, `stickySession(s)`, `stickiness` or `stickinessCookieDuration` with a
 * value that turns them on; and a `net` server created with `pauseOnConnect: true` in a file
 * that uses `cluster` (the hand-made "route connections by client address" pattern).
 */
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import { type AnyNode, calleeOf, normaliseSource, unwrap } from '../resolve.js';

const advice = {
  stickyPackage: {
    problem:
      '{{pkg}} pins each client to one process: its state dies with that process, and load does not spread.',
    fix: 'make every process able to serve every request (sessions in a shared store; for socket.io, the websocket transport only, or the Redis adapter) and balance without affinity.',
  },
  affinityOption: {
    problem:
      '`{{name}}` turns on session affinity: clients are pinned to one instance, which hides process-local state until that instance goes away.',
    fix: 'turn affinity off and keep state in shared stores, so any instance can serve any request.',
  },
  clusterAffinity: {
    problem:
      'connections are handed to cluster workers by hand (pauseOnConnect), usually by client address: that is sticky routing.',
    fix: "let the cluster (or drove start's balancer) spread connections, and keep state in shared stores.",
  },
};

const PACKAGES = new Set([
  '@socket.io/sticky',
  'sticky-session',
  'sticky-cluster',
  'socketio-sticky-session',
]);
const AFFINITY_KEYS = new Set([
  'sessionAffinity',
  'sessionAffinityConfig',
  'stickySession',
  'stickySessions',
  'stickiness',
  'stickinessCookieDuration',
]);

function turnsOn(value: AnyNode): boolean {
  const v = unwrap(value);
  if (v.type === 'Literal')
    return (
      v.value !== false &&
      v.value !== null &&
      v.value !== 0 &&
      v.value !== '' &&
      String(v.value).toLowerCase() !== 'none'
    );
  if (v.type === 'Identifier') return v.name !== 'undefined';
  return true;
}

export const noStickySessions: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow sticky-session and session-affinity configuration',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    let usesCluster = false;
    const paused: ESTree.Node[] = [];
    const source = (node: AnyNode, value: unknown) => {
      if (typeof value !== 'string') return;
      const pkg = normaliseSource(value);
      if (pkg === 'cluster') usesCluster = true;
      if (PACKAGES.has(pkg)) context.report({ node, messageId: 'stickyPackage', data: { pkg } });
    };
    return {
      ImportDeclaration(node) {
        source(node as AnyNode, node.source.value);
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') source(node as AnyNode, node.source.value);
      },
      CallExpression(node) {
        const callee = node.callee;
        const arg = node.arguments[0];
        if (callee.type === 'Identifier' && callee.name === 'require' && arg?.type === 'Literal')
          source(node as AnyNode, arg.value);
        const ref = calleeOf(context, node);
        if (ref?.source === 'net' && ref.path.join('.') === 'createServer') {
          const options = arg && unwrap(arg as AnyNode);
          if (options?.type === 'ObjectExpression')
            for (const p of options.properties)
              if (
                p.type === 'Property' &&
                p.key.type === 'Identifier' &&
                p.key.name === 'pauseOnConnect' &&
                turnsOn(p.value as AnyNode)
              )
                paused.push(node);
        }
      },
      Property(node) {
        const key =
          node.key.type === 'Identifier' && !node.computed
            ? node.key.name
            : node.key.type === 'Literal'
              ? String(node.key.value)
              : undefined;
        if (
          key &&
          AFFINITY_KEYS.has(key) &&
          node.parent.type === 'ObjectExpression' &&
          turnsOn(node.value as AnyNode)
        )
          context.report({ node, messageId: 'affinityOption', data: { name: key } });
      },
      'Program:exit'() {
        if (usesCluster)
          for (const node of paused) context.report({ node, messageId: 'clusterAffinity' });
      },
    };
  },
};
