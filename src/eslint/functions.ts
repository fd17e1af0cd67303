/**
 * Which functions of a file run per request. A write to module state matters only there: code
 * that runs once at start-up (configuration, creating clients) is the same in every process.
 *
 * A function is a request handler when it is passed to a route or middleware registration
 * (`app.get(…, fn)`, `router.use(fn)`, `fastify.addHook('onRequest', fn)`, `createServer(fn)`,
 * `{ handler: fn }`), or when its parameters are named like one (`req`/`request` first,
 * `res`/`reply`/`response` second, `ctx, next`). It is an exported function when the module
 * exports it (ESM or CommonJS), unless its name says it configures (`set…`, `configure…`,
 * `register…`, `use…`, `init…`, `setup…`). Functions nested in either, and local functions they
 * call, inherit the kind: handlers first, then exported functions.
 */
import type { Rule } from 'eslint';
import type * as ESTree from 'estree';
import { type AnyNode, findVariable, propertyName, unwrap } from './resolve.js';

export type FunctionKind = 'handler' | 'exported';
export type FunctionNode =
  | ESTree.FunctionDeclaration
  | ESTree.FunctionExpression
  | ESTree.ArrowFunctionExpression;

const ROUTE_METHODS = new Set([
  'get',
  'post',
  'put',
  'patch',
  'delete',
  'del',
  'all',
  'use',
  'head',
  'options',
  'addHook',
  'createServer',
  'on',
]);
const HANDLER_KEYS = new Set(['handler', 'preHandler', 'onRequest', 'preValidation', 'fetch']);
const CONFIG_NAME =
  /^(set|configure|config|register|use|init|initiali[sz]e|setup|install|define|extend|plugin|reset)([A-Z_]|$)/;

export function isFunction(node: AnyNode | null | undefined): node is FunctionNode & AnyNode {
  return (
    node?.type === 'FunctionDeclaration' ||
    node?.type === 'FunctionExpression' ||
    node?.type === 'ArrowFunctionExpression'
  );
}

/** The innermost function around a node, if any. */
export function enclosingFunction(node: AnyNode): (FunctionNode & AnyNode) | undefined {
  let current = node.parent;
  while (current) {
    if (isFunction(current)) return current;
    current = current.parent;
  }
  return undefined;
}

/** Depth-first walk over every node, using the parser's visitor keys (TS nodes too). */
export function walk(
  context: Rule.RuleContext,
  root: AnyNode,
  visit: (node: AnyNode) => void,
): void {
  const keys = context.sourceCode.visitorKeys as Record<string, readonly string[] | undefined>;
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    for (const key of keys[node.type] ?? []) {
      const child = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(child)) {
        for (const item of child) if (item && typeof item === 'object') stack.push(item as AnyNode);
      } else if (child && typeof child === 'object' && 'type' in child) {
        stack.push(child as AnyNode);
      }
    }
  }
}

function paramName(param: ESTree.Pattern | undefined): string | undefined {
  if (!param) return undefined;
  if (param.type === 'Identifier') return param.name;
  if (param.type === 'AssignmentPattern' && param.left.type === 'Identifier')
    return param.left.name;
  return undefined;
}

function looksLikeHandler(fn: FunctionNode): boolean {
  const first = paramName(fn.params[0]);
  const second = paramName(fn.params[1]);
  if (first === 'req' || first === 'request') return true;
  if (second === 'res' || second === 'reply' || second === 'response') return true;
  return (first === 'ctx' || first === 'context' || first === 'c') && second === 'next';
}

function isRouteCall(call: ESTree.CallExpression): boolean {
  const callee = unwrap(call.callee as AnyNode);
  const name = callee.type === 'Identifier' ? callee.name : propertyName(callee);
  if (!name || !ROUTE_METHODS.has(name)) return false;
  if (name === 'on' || name === 'addHook') {
    const event = call.arguments[0];
    if (name === 'on')
      return event?.type === 'Literal' && (event.value === 'request' || event.value === 'upgrade');
    return true;
  }
  return true;
}

/** The function a `const`/function binding names, for `app.get('/', listUsers)`. */
function functionOfIdentifier(
  context: Rule.RuleContext,
  node: ESTree.Identifier,
): (FunctionNode & AnyNode) | undefined {
  const def = findVariable(context, node)?.defs[0];
  if (!def) return undefined;
  if (def.type === 'FunctionName') return def.node as FunctionNode & AnyNode;
  if (def.type === 'Variable' && def.node.init) {
    const init = unwrap(def.node.init as AnyNode);
    if (isFunction(init)) return init;
  }
  return undefined;
}

/** The name a function is known by in its module: declaration, variable, property, export. */
export function functionName(fn: AnyNode): string | undefined {
  if ((fn.type === 'FunctionDeclaration' || fn.type === 'FunctionExpression') && fn.id)
    return fn.id.name;
  const parent = fn.parent;
  if (parent?.type === 'VariableDeclarator' && parent.id.type === 'Identifier')
    return parent.id.name;
  if (parent?.type === 'Property' && parent.key.type === 'Identifier') return parent.key.name;
  if (parent?.type === 'MethodDefinition' && parent.key.type === 'Identifier')
    return parent.key.name;
  if (parent?.type === 'AssignmentExpression') return propertyName(parent.left as AnyNode);
  return undefined;
}

function isModuleExports(node: AnyNode): boolean {
  const target = unwrap(node);
  if (target.type === 'Identifier') return target.name === 'exports';
  if (target.type !== 'MemberExpression') return false;
  const object = unwrap(target.object as AnyNode);
  if (object.type === 'Identifier' && object.name === 'module')
    return propertyName(target) === 'exports';
  if (object.type === 'Identifier' && object.name === 'exports') return true;
  return isModuleExports(object);
}

/** Names exported by `export { a }`, `module.exports = { a }`, `exports.x = a`, `export default a`. */
function exportedNames(context: Rule.RuleContext, program: AnyNode): Set<string> {
  const names = new Set<string>();
  const addValue = (value: AnyNode | null | undefined) => {
    const node = value && unwrap(value);
    if (node?.type === 'Identifier') names.add(node.name);
    if (node?.type === 'ObjectExpression')
      for (const p of node.properties)
        if (p.type === 'Property' && p.value.type === 'Identifier') names.add(p.value.name);
  };
  walk(context, program, (node) => {
    if (node.type === 'ExportNamedDeclaration' && !node.declaration && !node.source)
      for (const s of node.specifiers) if (s.local.type === 'Identifier') names.add(s.local.name);
    if (node.type === 'ExportDefaultDeclaration') addValue(node.declaration as AnyNode);
    if (node.type === 'AssignmentExpression' && isModuleExports(node.left as AnyNode))
      addValue(node.right as AnyNode);
  });
  return names;
}

function isExportedFunction(fn: AnyNode, names: Set<string>): boolean {
  const parent = fn.parent;
  if (!parent) return false;
  if (parent.type === 'ExportNamedDeclaration' || parent.type === 'ExportDefaultDeclaration')
    return true;
  if (
    parent.type === 'VariableDeclarator' &&
    parent.parent?.parent?.type === 'ExportNamedDeclaration'
  )
    return true;
  if (parent.type === 'AssignmentExpression' && isModuleExports(parent.left as AnyNode))
    return true;
  if (parent.type === 'Property' && parent.parent?.type === 'ObjectExpression') {
    const holder = parent.parent.parent;
    if (holder?.type === 'ExportDefaultDeclaration') return true;
    if (holder?.type === 'AssignmentExpression' && isModuleExports(holder.left as AnyNode))
      return true;
  }
  const name = functionName(fn);
  const topLevel =
    parent.type === 'Program' ||
    (parent.type === 'VariableDeclarator' && parent.parent?.parent?.type === 'Program');
  return topLevel && name !== undefined && names.has(name);
}

/** Kinds of every function of the file that runs per request or on a caller's behalf. */
export function analyseFunctions(context: Rule.RuleContext): Map<AnyNode, FunctionKind> {
  const program = context.sourceCode.ast as unknown as AnyNode;
  const names = exportedNames(context, program);
  const handlers = new Set<AnyNode>();
  const exported = new Set<AnyNode>();
  const edges = new Map<AnyNode | undefined, Set<AnyNode>>();
  const addEdge = (from: AnyNode | undefined, to: AnyNode) => {
    let set = edges.get(from);
    if (!set) {
      set = new Set();
      edges.set(from, set);
    }
    set.add(to);
  };

  walk(context, program, (node) => {
    if (isFunction(node)) {
      addEdge(enclosingFunction(node), node);
      if (looksLikeHandler(node)) handlers.add(node);
      const parent = node.parent;
      if (parent?.type === 'Property' && parent.key.type === 'Identifier')
        if (HANDLER_KEYS.has(parent.key.name) && parent.value === node) handlers.add(node);
      if (isExportedFunction(node, names)) {
        const name = functionName(node);
        if (!name || !CONFIG_NAME.test(name)) exported.add(node);
      }
    }
    if (node.type === 'CallExpression') {
      if (isRouteCall(node)) {
        for (const arg of node.arguments) {
          const value = unwrap(arg as AnyNode);
          if (isFunction(value)) handlers.add(value);
          else if (value.type === 'Identifier') {
            const fn = functionOfIdentifier(context, value);
            if (fn) handlers.add(fn);
          }
        }
      }
      const callee = unwrap(node.callee as AnyNode);
      if (callee.type === 'Identifier') {
        const fn = functionOfIdentifier(context, callee);
        if (fn) addEdge(enclosingFunction(node), fn);
      }
    }
  });

  const kinds = new Map<AnyNode, FunctionKind>();
  const spread = (roots: Iterable<AnyNode>, kind: FunctionKind) => {
    const queue = [...roots];
    while (queue.length > 0) {
      const fn = queue.pop()!;
      if (kinds.has(fn)) continue;
      kinds.set(fn, kind);
      for (const next of edges.get(fn) ?? []) queue.push(next);
    }
  };
  spread(handlers, 'handler');
  spread(exported, 'exported');
  return kinds;
}

/** The kind of the function a node runs in (undefined: module scope or start-up code). */
export function kindAt(kinds: Map<AnyNode, FunctionKind>, node: AnyNode): FunctionKind | undefined {
  const fn = enclosingFunction(node);
  return fn ? kinds.get(fn) : undefined;
}
