/**
 * `drove/no-module-state`: module-scope mutable state written while serving a request. Each
 * process has its own copy: a counter, a Map of carts or a list of messages differs from process
 * to process and vanishes on restart.
 *
 * How it decides (tuned for few false positives):
 * - Candidates are module-scope `let`/`var` bindings and `const` bindings holding a container
 *   (`new Map()`, `new Set()`, `{}`, `[]`, `Object.create(null)`). `WeakMap`/`WeakSet` are not
 *   candidates: they hang data off objects (a request) that are per-request already.
 * - Only writes inside request handlers, exported functions and what they call count (see
 *   functions.ts); writes at start-up (configuration) never do.
 * - A write is a reassignment, `++`/`--`, a property assignment, `delete`, `Object.assign(x, …)`
 *   or a mutating method (`set`, `add`, `push`, `splice`, …) on the binding or a member of it.
 * - Not counted: lazy creation (`x ??= create()`, `if (!x) x = create()`: a client or
 *   configuration created once), memoisation (the same key is looked up in the same function and
 *   the stored value is computed without `await` and without the request), and, in exported
 *   functions that are not handlers, plain replacement of a value (`config = options`,
 *   `settings.port = port`): that is configuration, not per-request state.
 */
import type { Rule, Scope } from 'eslint';
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import {
  analyseFunctions,
  enclosingFunction,
  type FunctionKind,
  type FunctionNode,
  walk,
} from '../functions.js';
import { type AnyNode, findVariable, propertyName, unwrap } from '../resolve.js';

const advice = {
  moduleState: {
    problem:
      'module-scope `{{name}}` is written in {{where}}: each process keeps its own copy, so ' +
      'requests served by another process (or after a restart) see different data.',
    fix: 'keep the data in a shared store (database, Redis via drovejs/stores) or in the session; keep per-request data in locals of the handler.',
  },
};

const MUTATORS = new Set([
  'set',
  'add',
  'delete',
  'clear',
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
]);
const LOOKUPS = new Set(['get', 'has', 'peek']);
const REQUEST_PARTS = new Set(['body', 'session', 'user', 'cookies', 'headers', 'query', 'params']);

type Write = {
  node: AnyNode;
  kind: 'replace' | 'update' | 'mutate';
  key?: AnyNode;
  value?: AnyNode;
  /** The member written (`x[k]` of `x[k] = v`), never itself a lookup of the key. */
  target?: AnyNode;
  /** `x[k] = v` or `x.set(k, v)`: a write that memoisation does. */
  memoable?: boolean;
};

function isContainer(init: AnyNode | null | undefined): boolean {
  if (!init) return false;
  const value = unwrap(init);
  if (value.type === 'ObjectExpression' || value.type === 'ArrayExpression') return true;
  if (value.type === 'NewExpression' && value.callee.type === 'Identifier')
    return ['Map', 'Set', 'Array', 'Object'].includes(value.callee.name);
  if (value.type === 'CallExpression' && value.callee.type === 'MemberExpression') {
    const object = value.callee.object;
    return (
      object.type === 'Identifier' &&
      object.name === 'Object' &&
      propertyName(value.callee as AnyNode) === 'create'
    );
  }
  return false;
}

function candidates(context: Rule.RuleContext): Scope.Variable[] {
  const out: Scope.Variable[] = [];
  for (const statement of context.sourceCode.ast.body) {
    const declaration =
      statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type !== 'VariableDeclaration') continue;
    if ((declaration as { declare?: boolean }).declare) continue;
    for (const declarator of declaration.declarations) {
      if (declarator.id.type !== 'Identifier') continue;
      if (
        declaration.kind !== 'let' &&
        declaration.kind !== 'var' &&
        !isContainer(declarator.init as AnyNode)
      )
        continue;
      out.push(...context.sourceCode.getDeclaredVariables(declarator));
    }
  }
  return out;
}

/** Does the expression read the variable (for `x = x + 1`, `x = [...x, y]`)? */
function reads(
  context: Rule.RuleContext,
  node: AnyNode | undefined,
  variable: Scope.Variable,
): boolean {
  if (!node) return false;
  let found = false;
  walk(context, node, (n) => {
    if (
      n.type === 'Identifier' &&
      n.name === variable.name &&
      findVariable(context, n) === variable
    )
      found = true;
  });
  return found;
}

/** Classify one reference as a write, or undefined when it only reads. */
function writeOf(ref: Scope.Reference): Write | undefined {
  const id = ref.identifier as AnyNode;
  if (ref.init) return undefined;
  if (ref.isWrite()) {
    const parent = id.parent;
    if (parent?.type === 'UpdateExpression') return { node: parent, kind: 'update' };
    if (parent?.type === 'AssignmentExpression') {
      if (parent.operator === '??=' || parent.operator === '||=') return undefined;
      return {
        node: parent,
        kind: parent.operator === '=' ? 'replace' : 'update',
        value: parent.right as AnyNode,
      };
    }
    return { node: id, kind: 'update' };
  }
  let top: AnyNode = id;
  for (;;) {
    const parent = top.parent;
    if (!parent) break;
    if (parent.type === 'MemberExpression' && parent.object === top) {
      top = parent;
      continue;
    }
    if (
      (parent.type as string) === 'TSNonNullExpression' ||
      parent.type === 'ChainExpression' ||
      (parent.type as string) === 'TSAsExpression'
    ) {
      top = parent;
      continue;
    }
    break;
  }
  const parent = top.parent;
  if (!parent) return undefined;
  if (top !== id) {
    if (parent.type === 'AssignmentExpression' && parent.left === top) {
      const member = unwrap(top) as ESTree.MemberExpression;
      const computedKey = member.computed && member.property.type !== 'Literal';
      return {
        node: parent,
        kind: parent.operator === '=' && !computedKey ? 'replace' : 'mutate',
        ...(member.computed ? { key: member.property as AnyNode } : {}),
        value: parent.right as AnyNode,
        target: member as AnyNode,
        memoable: parent.operator === '=' && member.computed,
      };
    }
    if (parent.type === 'UpdateExpression') return { node: parent, kind: 'update' };
    if (parent.type === 'UnaryExpression' && parent.operator === 'delete')
      return { node: parent, kind: 'mutate' };
    if (parent.type === 'CallExpression' && parent.callee === top) {
      const method = propertyName(unwrap(top));
      if (method && MUTATORS.has(method)) {
        const [key, value] = parent.arguments as AnyNode[];
        return {
          node: parent,
          kind: 'mutate',
          ...(key ? { key } : {}),
          ...(value ? { value } : {}),
          memoable: method === 'set',
        };
      }
    }
    return undefined;
  }
  if (parent.type === 'CallExpression' && parent.arguments[0] === id) {
    const callee = unwrap(parent.callee as AnyNode);
    if (callee.type === 'MemberExpression' && propertyName(callee) === 'assign') {
      const object = unwrap(callee.object as AnyNode);
      if (object.type === 'Identifier' && object.name === 'Object')
        return { node: parent, kind: 'mutate' };
    }
  }
  return undefined;
}

/** `if (!x) x = …`, `if (x == null) …`, `x || (x = …)`: created once, then only read. */
function isLazyInit(context: Rule.RuleContext, write: Write, variable: Scope.Variable): boolean {
  if (write.kind !== 'replace' || write.node.type !== 'AssignmentExpression') return false;
  const target = context.sourceCode.getText(write.node.left as ESTree.Node);
  const isEmptyCheck = (test: AnyNode): boolean => {
    const t = unwrap(test);
    if (t.type === 'LogicalExpression')
      return isEmptyCheck(t.left as AnyNode) || isEmptyCheck(t.right as AnyNode);
    if (t.type === 'UnaryExpression' && t.operator === '!')
      return context.sourceCode.getText(t.argument) === target;
    if (t.type === 'BinaryExpression' && ['==', '===', '!=', '!=='].includes(t.operator)) {
      const sides = [t.left, t.right].map((s) => context.sourceCode.getText(s as ESTree.Node));
      const empty = sides.some(
        (s) => s === 'null' || s === 'undefined' || s === "'undefined'" || s === '"undefined"',
      );
      return empty && sides.some((s) => s === target || s === `typeof ${target}`);
    }
    return false;
  };
  const fn = enclosingFunction(write.node);
  let child: AnyNode = write.node;
  let current = write.node.parent;
  while (current && current !== fn) {
    if (
      current.type === 'IfStatement' &&
      current.consequent === child &&
      isEmptyCheck(current.test as AnyNode)
    )
      return true;
    if (current.type === 'LogicalExpression' && current.right === child) {
      const left = context.sourceCode.getText(current.left as ESTree.Node);
      if (left === target && (current.operator === '||' || current.operator === '??')) return true;
    }
    child = current;
    current = current.parent;
  }
  // `if (x) return x; x = create();` — an early return on the same binding.
  return variable.references.some((ref) => {
    const id = ref.identifier as AnyNode;
    const stmt = id.parent;
    if (stmt?.type !== 'IfStatement' || stmt.test !== id || enclosingFunction(id) !== fn)
      return false;
    const first =
      stmt.consequent.type === 'BlockStatement' ? stmt.consequent.body[0] : stmt.consequent;
    return first?.type === 'ReturnStatement';
  });
}

/** Does a value depend on the request or on something awaited (not a pure function of the key)? */
function isImpure(
  context: Rule.RuleContext,
  value: AnyNode | undefined,
  fn: FunctionNode | undefined,
  key: AnyNode | undefined,
): boolean {
  if (!value) return false;
  // The key may come from the request (that is what is memoised on); the value may not.
  const keyNames = new Set<string>();
  if (key) walk(context, key, (n) => n.type === 'Identifier' && keyNames.add(n.name));
  const params = new Set<string>();
  let scope: AnyNode | undefined = fn as AnyNode | undefined;
  while (scope) {
    for (const p of (scope as FunctionNode).params) if (p.type === 'Identifier') params.add(p.name);
    scope = enclosingFunction(scope);
  }
  let impure = false;
  const visit = (node: AnyNode, depth: number) =>
    walk(context, node, (n) => {
      if (n.type === 'AwaitExpression' || n.type === 'YieldExpression') impure = true;
      if (n.type === 'MemberExpression') {
        const name = propertyName(n);
        if (name && REQUEST_PARTS.has(name)) impure = true;
      }
      if (
        n.type === 'Identifier' &&
        /^(req|request|ctx|res|reply)$/.test(n.name) &&
        params.has(n.name)
      )
        impure = true;
      if (n.type === 'Identifier' && depth < 2 && !keyNames.has(n.name)) {
        const variable = findVariable(context, n);
        const def = variable?.defs[0];
        if (
          def?.type === 'Variable' &&
          def.node.init &&
          enclosingFunction(def.node as AnyNode) === fn
        )
          visit(def.node.init as AnyNode, depth + 1);
      }
    });
  visit(value, 0);
  return impure;
}

/** The same key looked up in the same container in the same function: memoisation. */
function isMemo(context: Rule.RuleContext, write: Write, variable: Scope.Variable): boolean {
  if (!write.memoable) return false;
  const key = write.key && context.sourceCode.getText(write.key as ESTree.Node);
  if (!key) return false;
  const fn = enclosingFunction(write.node);
  const looksUp = variable.references.some((ref) => {
    const id = ref.identifier as AnyNode;
    if (enclosingFunction(id) !== fn) return false;
    const member = id.parent;
    if (member?.type !== 'MemberExpression' || member.object !== id) return false;
    if (member.computed)
      return context.sourceCode.getText(member.property) === key && member !== write.target;
    const call = member.parent;
    return (
      LOOKUPS.has(propertyName(member) ?? '') &&
      call?.type === 'CallExpression' &&
      call.arguments[0] !== undefined &&
      context.sourceCode.getText(call.arguments[0]) === key
    );
  });
  return looksUp && !isImpure(context, write.value, fn, write.key);
}

function counts(
  context: Rule.RuleContext,
  write: Write,
  variable: Scope.Variable,
  kind: FunctionKind,
): boolean {
  if (isLazyInit(context, write, variable)) return false;
  if (isMemo(context, write, variable)) return false;
  if (kind === 'exported' && write.kind === 'replace' && !reads(context, write.value, variable))
    return false;
  return true;
}

export const noModuleState: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description:
        'Disallow module-scope mutable state written by request handlers or exported functions',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    return {
      'Program:exit'() {
        const variables = candidates(context);
        if (variables.length === 0) return;
        const kinds = analyseFunctions(context);
        for (const variable of variables) {
          // One finding per binding and function: the first write there is enough to act on,
          // and a disable comment on it does not hide the writes of other functions.
          const reported = new Set<AnyNode>();
          for (const ref of variable.references) {
            const write = writeOf(ref);
            if (!write) continue;
            const fn = enclosingFunction(write.node);
            const kind = fn && kinds.get(fn);
            if (!fn || !kind || reported.has(fn) || !counts(context, write, variable, kind))
              continue;
            reported.add(fn);
            context.report({
              node: write.node,
              messageId: 'moduleState',
              data: {
                name: variable.name,
                where: kind === 'handler' ? 'a request handler' : 'an exported function',
              },
            });
          }
        }
      },
    };
  },
};
