/**
 * Where a value comes from: which module, and which member of it. Every rule asks the same
 * question ("is this callee express-session's default export?"), whether the code imports with
 * ESM, requires with CommonJS, or was compiled by TypeScript/Babel (`__importDefault(require(…))`).
 */
import type { Rule, Scope } from 'eslint';
import type * as ESTree from 'estree';

/** A value traced back to a module: `path` lists member names, `()` a call, `new` a construction. */
export interface ModuleRef {
  source: string;
  path: string[];
}

export type AnyNode = ESTree.Node & { parent?: AnyNode };

const INTEROP_HELPERS = new Set([
  '__importDefault',
  '__importStar',
  '_interopRequireDefault',
  '_interopRequireWildcard',
]);
const MAX_DEPTH = 8;

/** `node:fs` and `fs` are the same module; so are `fs/promises` and `node:fs/promises`. */
export function normaliseSource(source: string): string {
  return source.startsWith('node:') ? source.slice(5) : source;
}

/** The variable an identifier refers to, looked up from the scope it appears in. */
export function findVariable(
  context: Rule.RuleContext,
  node: ESTree.Identifier,
): Scope.Variable | undefined {
  let scope: Scope.Scope | null = context.sourceCode.getScope(node);
  while (scope) {
    const variable = scope.set.get(node.name);
    if (variable) return variable;
    scope = scope.upper;
  }
  return undefined;
}

/** The one initialiser a `const`/`let` binding got at its declaration (not later assignments). */
export function initOf(variable: Scope.Variable): ESTree.Expression | undefined {
  const def = variable.defs[0];
  if (variable.defs.length !== 1 || def?.type !== 'Variable') return undefined;
  const declarator = def.node;
  if (declarator.id.type !== 'Identifier' || !declarator.init) return undefined;
  return declarator.init;
}

/** Strip the wrappers that do not change a value: TS casts, `!`, optional chains, parentheses. */
export function unwrap(node: AnyNode): AnyNode {
  let current = node as AnyNode & { expression?: AnyNode };
  while (
    current.type === ('TSAsExpression' as string) ||
    current.type === ('TSNonNullExpression' as string) ||
    current.type === ('TSSatisfiesExpression' as string) ||
    current.type === ('TSTypeAssertion' as string) ||
    current.type === 'ChainExpression'
  ) {
    current = current.expression as AnyNode & { expression?: AnyNode };
  }
  return current;
}

function memberName(node: ESTree.MemberExpression): string | undefined {
  if (!node.computed && node.property.type === 'Identifier') return node.property.name;
  if (node.property.type === 'Literal' && typeof node.property.value === 'string')
    return node.property.value;
  return undefined;
}

/** The static name of a member access (`a.b`, `a['b']`), if it has one. */
export function propertyName(node: AnyNode): string | undefined {
  return node.type === 'MemberExpression' ? memberName(node) : undefined;
}

function stringLiteral(node: AnyNode | undefined): string | undefined {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0)
    return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

function fromImportBinding(def: Scope.Definition): ModuleRef | undefined {
  const spec = def.node as AnyNode & {
    moduleReference?: { type: string; expression?: AnyNode };
  };
  if (spec.type === ('TSImportEqualsDeclaration' as string)) {
    const source = stringLiteral(spec.moduleReference?.expression);
    return source === undefined ? undefined : { source: normaliseSource(source), path: [] };
  }
  const declaration = def.parent as ESTree.ImportDeclaration | null;
  const source = stringLiteral(declaration?.source as AnyNode | undefined);
  if (source === undefined) return undefined;
  if (spec.type === 'ImportSpecifier') {
    const imported =
      spec.imported.type === 'Identifier' ? spec.imported.name : String(spec.imported.value);
    return { source: normaliseSource(source), path: imported === 'default' ? [] : [imported] };
  }
  // Default and namespace imports both stand for the module itself (CommonJS interop).
  return { source: normaliseSource(source), path: [] };
}

function fromDestructuring(
  context: Rule.RuleContext,
  pattern: ESTree.ObjectPattern,
  name: string,
  init: ESTree.Expression,
  depth: number,
): ModuleRef | undefined {
  for (const property of pattern.properties) {
    if (property.type !== 'Property') continue;
    const value =
      property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
    if (value.type !== 'Identifier' || value.name !== name) continue;
    const key =
      property.key.type === 'Identifier' && !property.computed
        ? property.key.name
        : stringLiteral(property.key as AnyNode);
    const base = moduleOf(context, init as AnyNode, depth + 1);
    if (!base || key === undefined) return undefined;
    return { source: base.source, path: key === 'default' ? base.path : [...base.path, key] };
  }
  return undefined;
}

/**
 * Trace an expression back to the module it comes from, or undefined when it does not come from
 * one (or cannot be followed statically: a parameter, a reassigned variable, a computed member).
 */
export function moduleOf(
  context: Rule.RuleContext,
  input: AnyNode,
  depth = 0,
): ModuleRef | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const node = unwrap(input);
  switch (node.type) {
    case 'AwaitExpression':
      return moduleOf(context, node.argument as AnyNode, depth + 1);
    case 'SequenceExpression': {
      // `(0, mod_1.default)(…)`: how TypeScript and Babel call an imported function.
      const last = node.expressions.at(-1);
      return last && moduleOf(context, last as AnyNode, depth + 1);
    }
    case 'ImportExpression': {
      const source = stringLiteral(node.source as AnyNode);
      return source === undefined ? undefined : { source: normaliseSource(source), path: [] };
    }
    case 'CallExpression': {
      const callee = unwrap(node.callee as AnyNode);
      if (callee.type === 'Identifier' && callee.name === 'require') {
        const source = stringLiteral(node.arguments[0] as AnyNode | undefined);
        return source === undefined ? undefined : { source: normaliseSource(source), path: [] };
      }
      if (callee.type === 'Identifier' && INTEROP_HELPERS.has(callee.name) && node.arguments[0])
        return moduleOf(context, node.arguments[0] as AnyNode, depth + 1);
      const base = moduleOf(context, callee, depth + 1);
      return base && { source: base.source, path: [...base.path, '()'] };
    }
    case 'NewExpression': {
      const base = moduleOf(context, node.callee as AnyNode, depth + 1);
      return base && { source: base.source, path: [...base.path, 'new'] };
    }
    case 'MemberExpression': {
      const name = memberName(node);
      if (name === undefined) return undefined;
      const base = moduleOf(context, node.object as AnyNode, depth + 1);
      if (!base) return undefined;
      return { source: base.source, path: name === 'default' ? base.path : [...base.path, name] };
    }
    case 'Identifier': {
      const variable = findVariable(context, node);
      const def = variable?.defs[0];
      if (!variable || !def || variable.defs.length !== 1) return undefined;
      if (def.type === 'ImportBinding') return fromImportBinding(def);
      if (def.type !== 'Variable' || !def.node.init) return undefined;
      if (def.node.id.type === 'Identifier') return moduleOf(context, def.node.init, depth + 1);
      if (def.node.id.type === 'ObjectPattern')
        return fromDestructuring(context, def.node.id, node.name, def.node.init, depth);
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Does `ref` name `source` (one of them) with exactly this member path? */
export function refIs(
  ref: ModuleRef | undefined,
  sources: string | readonly string[],
  path: readonly string[] = [],
): boolean {
  if (!ref) return false;
  const list = typeof sources === 'string' ? [sources] : sources;
  return list.includes(ref.source) && ref.path.join('.') === path.join('.');
}

/** The module a call or `new` calls into: `session(...)` → express-session's []. */
export function calleeOf(
  context: Rule.RuleContext,
  node: ESTree.CallExpression | ESTree.NewExpression,
): ModuleRef | undefined {
  return moduleOf(context, node.callee as AnyNode);
}

/** The object literal an argument is, directly or through a `const` holding one. */
export function objectArgument(
  context: Rule.RuleContext,
  node: AnyNode | undefined,
): ESTree.ObjectExpression | undefined {
  if (!node) return undefined;
  const value = unwrap(node);
  if (value.type === 'ObjectExpression') return value;
  if (value.type === 'Identifier') {
    const variable = findVariable(context, value);
    const init = variable && initOf(variable);
    if (init && unwrap(init as AnyNode).type === 'ObjectExpression')
      return unwrap(init as AnyNode) as ESTree.ObjectExpression;
  }
  return undefined;
}

/**
 * A property of an options object: 'absent' when the object certainly lacks it, 'unknown' when a
 * spread could supply it (rules stay silent then: few false positives over completeness).
 */
export function optionOf(
  object: ESTree.ObjectExpression,
  name: string,
): ESTree.Property | 'absent' | 'unknown' {
  let spread = false;
  for (const property of object.properties) {
    if (property.type === 'SpreadElement') {
      spread = true;
      continue;
    }
    const key =
      property.key.type === 'Identifier' && !property.computed
        ? property.key.name
        : stringLiteral(property.key as AnyNode);
    if (key === name) return property;
  }
  return spread ? 'unknown' : 'absent';
}

/** The value of a property whose value is the `undefined` identifier counts as absent. */
export function isUndefined(node: AnyNode): boolean {
  const value = unwrap(node);
  return (
    (value.type === 'Identifier' && value.name === 'undefined') ||
    (value.type === 'UnaryExpression' && value.operator === 'void')
  );
}

/** `app.register(plugin, options)`-style registration: the plugin and its options, if so. */
export function registration(
  node: ESTree.CallExpression,
): { plugin: AnyNode; options: AnyNode | undefined } | undefined {
  const callee = unwrap(node.callee as AnyNode);
  if (propertyName(callee) !== 'register' && propertyName(callee) !== 'use') return undefined;
  const plugin = node.arguments[0];
  if (!plugin || plugin.type === 'SpreadElement') return undefined;
  const options = node.arguments[1];
  return {
    plugin: plugin as AnyNode,
    options: options && options.type !== 'SpreadElement' ? (options as AnyNode) : undefined,
  };
}
