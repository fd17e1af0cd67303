/**
 * What a path expression points at, as far as the source tells: whether it lies in the OS temp
 * directory or drove's scratch space (private to one request, fine), and which names and
 * literals it is built from, so that a write and a later read of the same place can be matched.
 */
import type { Rule } from 'eslint';
import { walk } from './functions.js';
import { type AnyNode, findVariable, initOf, moduleOf, propertyName, refIs } from './resolve.js';

const MAX_DEPTH = 4;
const TEMP_ENV = new Set(['TMPDIR', 'TEMP', 'TMP']);
const BORING_IDS = new Set(['__dirname', '__filename', 'undefined', 'path', 'process']);
const BORING_SEGMENTS = new Set(['', '.', '..']);

function followConst(context: Rule.RuleContext, node: AnyNode): AnyNode | undefined {
  if (node.type !== 'Identifier') return undefined;
  const variable = findVariable(context, node);
  const init = variable && initOf(variable);
  return init as AnyNode | undefined;
}

/** True when the path is under `os.tmpdir()`, `$TMPDIR`, `/tmp`, a `mkdtemp` result or drove scratch. */
export function isTempPath(
  context: Rule.RuleContext,
  path: AnyNode | undefined,
  depth = 0,
): boolean {
  if (!path || depth > MAX_DEPTH) return false;
  let temp = false;
  walk(context, path, (node) => {
    if (temp) return;
    if (
      node.type === 'CallExpression' ||
      node.type === 'MemberExpression' ||
      node.type === 'Identifier'
    ) {
      const ref = moduleOf(context, node);
      if (refIs(ref, 'os', ['tmpdir', '()'])) temp = true;
      if (
        ref &&
        /^(fs|fs\/promises|fs-extra)$/.test(ref.source) &&
        /mkdtemp/.test(ref.path.join('.'))
      )
        temp = true;
      if (ref && /^drovejs?\/scratch$/.test(ref.source)) temp = true;
    }
    if (node.type === 'MemberExpression') {
      const name = propertyName(node);
      const object = node.object as AnyNode;
      if (
        name &&
        TEMP_ENV.has(name) &&
        object.type === 'MemberExpression' &&
        propertyName(object) === 'env'
      )
        temp = true;
    }
    if (
      node.type === 'Literal' &&
      typeof node.value === 'string' &&
      /^\/(var\/)?tmp(\/|$)/.test(node.value)
    )
      temp = true;
    if (node.type === 'TemplateElement' && /^\/(var\/)?tmp(\/|$)/.test(node.value.raw)) temp = true;
    const init = followConst(context, node);
    if (init && isTempPath(context, init, depth + 1)) temp = true;
  });
  return temp;
}

/**
 * The names and literal segments a path is built from: `path.join(DATA_DIR, 'db.json')` gives
 * `id:DATA_DIR` plus what DATA_DIR was initialised with, and `seg:db.json`. Calls contribute
 * their arguments, members their full text (`m:config.dataDir`), so `req.params.a` and
 * `req.body.b` do not match.
 */
export function pathLeaves(
  context: Rule.RuleContext,
  path: AnyNode | undefined,
  depth = 0,
): Set<string> {
  const leaves = new Set<string>();
  if (!path || depth > MAX_DEPTH) return leaves;
  const add = (node: AnyNode): void => {
    switch (node.type) {
      case 'Literal':
        if (typeof node.value === 'string')
          for (const seg of node.value.split(/[\\/]/))
            if (!BORING_SEGMENTS.has(seg)) leaves.add(`seg:${seg}`);
        return;
      case 'TemplateLiteral':
        for (const q of node.quasis)
          for (const seg of q.value.raw.split(/[\\/]/))
            if (!BORING_SEGMENTS.has(seg)) leaves.add(`seg:${seg}`);
        for (const e of node.expressions) add(e as AnyNode);
        return;
      case 'Identifier': {
        if (BORING_IDS.has(node.name)) return;
        // Keyed by binding, not by name: two different `file` variables are different places.
        const def = findVariable(context, node)?.defs[0];
        leaves.add(def ? `id:${node.name}@${def.name.range?.[0] ?? ''}` : `id:${node.name}`);
        const init = followConst(context, node);
        if (init) for (const leaf of pathLeaves(context, init, depth + 1)) leaves.add(leaf);
        return;
      }
      case 'MemberExpression': {
        const text = context.sourceCode.getText(node);
        if (!/^(import\.meta|process\.cwd|__dirname)/.test(text)) leaves.add(`m:${text}`);
        return;
      }
      case 'CallExpression':
      case 'NewExpression':
        for (const arg of node.arguments) add(arg as AnyNode);
        return;
      case 'BinaryExpression':
        add(node.left as AnyNode);
        add(node.right as AnyNode);
        return;
      case 'AwaitExpression':
        add(node.argument as AnyNode);
        return;
      default:
        return;
    }
  };
  add(path);
  return leaves;
}
