/**
 * `drove/no-runtime-assets`: assets compiled by the running app. Each process compiles its own
 * copy (CPU and memory at start-up and on requests), processes can serve different bytes for
 * the same URL while they recompile, and a build error shows up in production instead of in the
 * build stage. `drove build` compiles once, in the build stage.
 *
 * Reported, unless inside a branch taken only in development (a condition that mentions
 * `development`, `isDev`, `dev`, `__DEV__`, or `NODE_ENV !== 'production'`):
 * - compiling middleware anywhere: webpack-dev-middleware, webpack-hot-middleware,
 *   node-sass-middleware, sass-middleware, less-middleware, stylus's `middleware`,
 *   express-less, koa-webpack, browserify-middleware, and vite's `createServer` in middleware
 *   mode;
 * - a compiler called inside a request handler: sass/node-sass/sass-embedded, less, stylus,
 *   postcss, esbuild, webpack, @babel/core, typescript's `transpileModule`.
 */
import type { Rule } from 'eslint';
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import { analyseFunctions, kindAt } from '../functions.js';
import { type AnyNode, calleeOf, type ModuleRef, objectArgument, optionOf } from '../resolve.js';

const advice = {
  middleware: {
    problem:
      '{{pkg}} compiles assets inside the running app: every process compiles its own copy, and a build error appears in production.',
    fix: "compile in the build stage (drove build, or the bundler's CLI) and serve the built files (drovejs/assets); keep the middleware behind a development-only branch.",
  },
  compileInHandler: {
    problem:
      '{{pkg}} compiles in a request handler: the work is repeated per request and per process, outside the build stage.',
    fix: 'compile once in the build stage (drove build) and serve the result; guard development-only compilation with NODE_ENV.',
  },
};

const MIDDLEWARES = new Map<string, string[]>([
  ['webpack-dev-middleware', ['()']],
  ['webpack-hot-middleware', ['()']],
  ['node-sass-middleware', ['()']],
  ['sass-middleware', ['()']],
  ['less-middleware', ['()']],
  ['express-less', ['()']],
  ['koa-webpack', ['()']],
  ['browserify-middleware', ['()']],
  ['stylus', ['middleware.()']],
]);
const COMPILERS = new Map<string, string[]>([
  [
    'sass',
    [
      'compile.()',
      'compileAsync.()',
      'compileString.()',
      'compileStringAsync.()',
      'render.()',
      'renderSync.()',
    ],
  ],
  ['node-sass', ['render.()', 'renderSync.()']],
  ['sass-embedded', ['compile.()', 'compileAsync.()', 'compileString.()', 'compileStringAsync.()']],
  ['less', ['render.()']],
  ['stylus', ['()', 'render.()']],
  ['postcss', ['().process.()']],
  ['esbuild', ['build.()', 'buildSync.()', 'transform.()', 'transformSync.()', 'context.()']],
  ['webpack', ['()']],
  [
    '@babel/core',
    [
      'transform.()',
      'transformSync.()',
      'transformAsync.()',
      'transformFile.()',
      'transformFileSync.()',
      'transformFileAsync.()',
    ],
  ],
  ['typescript', ['transpileModule.()']],
]);

const DEV = /develop|isdev|__dev__|\bdev\b|\bDEV\b/i;

/** Is the node inside a branch that only development takes? */
function devOnly(context: Rule.RuleContext, node: AnyNode): boolean {
  let child: AnyNode = node;
  let current = node.parent;
  while (current) {
    const test =
      current.type === 'IfStatement' || current.type === 'ConditionalExpression'
        ? (current.test as AnyNode)
        : current.type === 'LogicalExpression' &&
            current.operator === '&&' &&
            current.right === child
          ? (current.left as AnyNode)
          : undefined;
    if (test && test !== child) {
      const text = context.sourceCode.getText(test as ESTree.Node);
      if (DEV.test(text)) return true;
      if (/production/.test(text)) {
        const negated = /!==?|^!/.test(text);
        const inElse =
          (current.type === 'IfStatement' || current.type === 'ConditionalExpression') &&
          current.alternate === child;
        if (negated !== inElse) return true;
      }
    }
    child = current;
    current = current.parent;
  }
  return false;
}

function viteMiddlewareMode(
  context: Rule.RuleContext,
  node: ESTree.CallExpression,
  ref: ModuleRef,
): boolean {
  if (ref.source !== 'vite' || ref.path.join('.') !== 'createServer') return false;
  const options = objectArgument(context, node.arguments[0] as AnyNode | undefined);
  const server = options && optionOf(options, 'server');
  const serverOptions =
    server && typeof server === 'object'
      ? objectArgument(context, server.value as AnyNode)
      : undefined;
  const mode = serverOptions && optionOf(serverOptions, 'middlewareMode');
  return typeof mode === 'object' && !(mode.value.type === 'Literal' && mode.value.value === false);
}

export const noRuntimeAssets: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow compiling assets in the running app outside development',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    const inHandlers: Array<{ node: ESTree.CallExpression; pkg: string }> = [];
    return {
      CallExpression(node) {
        const ref = calleeOf(context, node);
        if (!ref) return;
        const path = [...ref.path, '()'].join('.');
        if (MIDDLEWARES.get(ref.source)?.includes(path) || viteMiddlewareMode(context, node, ref)) {
          if (!devOnly(context, node as AnyNode))
            context.report({ node, messageId: 'middleware', data: { pkg: ref.source } });
          return;
        }
        if (COMPILERS.get(ref.source)?.includes(path)) inHandlers.push({ node, pkg: ref.source });
      },
      'Program:exit'() {
        if (inHandlers.length === 0) return;
        const kinds = analyseFunctions(context);
        for (const { node, pkg } of inHandlers) {
          if (kindAt(kinds, node as AnyNode) === 'handler' && !devOnly(context, node as AnyNode))
            context.report({ node, messageId: 'compileInHandler', data: { pkg } });
        }
      },
    };
  },
};
