/**
 * `drove/no-local-files`: data written to the local disk and read back later. Another process
 * (another machine) has its own disk: an upload kept in `./uploads`, a JSON file used as a
 * database, or a file-backed store is missing or stale there, and gone after a redeploy.
 *
 * Reported:
 * - an `fs`/`fs-extra` write (`writeFile`, `appendFile`, `createWriteStream`, `copyFile`,
 *   `rename`, `outputJson`, …) to a path that is not under the OS temp directory or drove
 *   scratch, when the same file also reads a path built from the same names or literal
 *   segments (`readFile`, `createReadStream`, `readdir`, `res.sendFile`, `express.static`, …;
 *   an existence check is not a read). A log written and never read is not reported;
 * - file-backed stores: lowdb's file adapters, nedb with a `filename`, node-persist,
 *   node-json-db;
 * - uploads to a local folder: multer's `dest` or `diskStorage({ destination })`, formidable's
 *   `uploadDir`, when the folder is not a temp directory.
 */
import type { Rule } from 'eslint';
import type * as ESTree from 'estree';
import { type DroveRule, messagesOf } from '../advice.js';
import { isTempPath, pathLeaves } from '../paths.js';
import {
  type AnyNode,
  calleeOf,
  type ModuleRef,
  objectArgument,
  optionOf,
  propertyName,
  unwrap,
} from '../resolve.js';

const advice = {
  writeReadBack: {
    problem:
      '{{call}} writes a file on the local disk and this file reads it back: another process or ' +
      'machine does not have it, and a redeploy loses it.',
    fix: 'keep durable data in a database or object storage; for a file needed within one request use drovejs/scratch (useScratch().file(name)) or os.tmpdir().',
  },
  fileStore: {
    problem:
      '{{pkg}} keeps its data in a local file: each process and machine has its own copy that the others never see.',
    fix: 'use a shared database (PostgreSQL, Redis) instead of a file-backed store.',
  },
  localUploads: {
    problem:
      '{{pkg}} stores uploads in a local folder: the request that reads an upload back may reach another process or machine.',
    fix: 'stream uploads to object storage or a database, or process them inside the request in drovejs/scratch space.',
  },
};

const FS = ['fs', 'fs/promises', 'fs-extra', 'graceful-fs'];
/** Write functions and the index of their destination argument. */
const WRITES = new Map<string, number>([
  ['writeFile', 0],
  ['writeFileSync', 0],
  ['appendFile', 0],
  ['appendFileSync', 0],
  ['createWriteStream', 0],
  ['outputFile', 0],
  ['outputFileSync', 0],
  ['writeJson', 0],
  ['writeJsonSync', 0],
  ['writeJSON', 0],
  ['writeJSONSync', 0],
  ['outputJson', 0],
  ['outputJsonSync', 0],
  ['copyFile', 1],
  ['copyFileSync', 1],
  ['rename', 1],
  ['renameSync', 1],
  ['cp', 1],
  ['cpSync', 1],
  ['copy', 1],
  ['copySync', 1],
  ['move', 1],
  ['moveSync', 1],
]);
const READS = new Set([
  'readFile',
  'readFileSync',
  'createReadStream',
  'readJson',
  'readJsonSync',
  'readJSON',
  'readJSONSync',
  'readdir',
  'readdirSync',
  'open',
  'openSync',
]);
const RESPONSE_READS = new Set(['sendFile', 'download']);
/** File-backed stores: module, member path of the construction/call, index of the path argument. */
const FILE_STORES: ReadonlyArray<readonly [string, string]> = [
  ['lowdb/node', 'JSONFile.new'],
  ['lowdb/node', 'JSONFileSync.new'],
  ['lowdb/node', 'TextFile.new'],
  ['lowdb/node', 'TextFileSync.new'],
  ['lowdb/node', 'DataFile.new'],
  ['lowdb/node', 'DataFileSync.new'],
  ['lowdb/node', 'JSONFilePreset.()'],
  ['lowdb/node', 'JSONFileSyncPreset.()'],
  ['lowdb', 'JSONFile.new'],
  ['lowdb', 'JSONFileSync.new'],
  ['lowdb/adapters/FileSync', 'new'],
  ['lowdb/adapters/FileAsync', 'new'],
  ['lowdb/adapters/FileSync', '()'],
  ['lowdb/adapters/FileAsync', '()'],
  ['node-persist', 'init.()'],
  ['node-persist', 'create.()'],
  ['node-json-db', 'JsonDB.new'],
];
const NEDB = ['nedb', '@seald-io/nedb', 'nedb-promises'];

function fsCall(ref: ModuleRef | undefined): string | undefined {
  if (!ref || !FS.includes(ref.source)) return undefined;
  const path = ref.path[0] === 'promises' ? ref.path.slice(1) : ref.path;
  return path.length === 2 && path[1] === '()' ? path[0] : undefined;
}

interface Site {
  node: ESTree.Node;
  call: string;
  leaves: Set<string>;
}

function shares(a: Set<string>, b: Set<string>): boolean {
  for (const leaf of a) if (b.has(leaf)) return true;
  return false;
}

/** nedb's file: a string argument or the `filename` option; none means an in-memory datastore. */
function nedbFile(context: Rule.RuleContext, arg: AnyNode | undefined): AnyNode | undefined {
  if (!arg) return undefined;
  const options = objectArgument(context, arg);
  if (options) {
    const filename = optionOf(options, 'filename');
    return typeof filename === 'object' ? (filename.value as AnyNode) : undefined;
  }
  const value = unwrap(arg);
  return value.type === 'Literal' || value.type === 'TemplateLiteral' ? value : undefined;
}

function checkUploads(
  context: Rule.RuleContext,
  node: ESTree.CallExpression | ESTree.NewExpression,
  ref: ModuleRef,
): void {
  const options = objectArgument(context, node.arguments[0] as AnyNode | undefined);
  if (ref.source === 'multer' && ref.path.join('.') === '()' && options) {
    const dest = optionOf(options, 'dest');
    if (typeof dest === 'object' && !isTempPath(context, dest.value as AnyNode))
      context.report({ node, messageId: 'localUploads', data: { pkg: 'multer' } });
  }
  if (ref.source === 'multer' && ref.path.join('.') === 'diskStorage.()' && options) {
    const destination = optionOf(options, 'destination');
    if (typeof destination === 'object' && !isTempPath(context, destination.value as AnyNode))
      context.report({ node, messageId: 'localUploads', data: { pkg: 'multer' } });
  }
  if (ref.source === 'formidable' && options) {
    const dir = optionOf(options, 'uploadDir');
    if (typeof dir === 'object' && !isTempPath(context, dir.value as AnyNode))
      context.report({ node, messageId: 'localUploads', data: { pkg: 'formidable' } });
  }
}

export const noLocalFiles: DroveRule = {
  advice,
  meta: {
    type: 'problem',
    docs: {
      description:
        'Disallow data written to the local disk (outside temp and scratch space) and read back',
      recommended: true,
    },
    schema: [],
    messages: messagesOf(advice),
  },
  create(context) {
    const writes: Site[] = [];
    const reads: Set<string>[] = [];
    const check = (node: ESTree.CallExpression | ESTree.NewExpression) => {
      const ref = calleeOf(context, node);
      const withCall = ref && {
        source: ref.source,
        path: [...ref.path, node.type === 'NewExpression' ? 'new' : '()'],
      };
      const name = fsCall(withCall);
      if (name !== undefined && WRITES.has(name)) {
        const target = node.arguments[WRITES.get(name)!] as AnyNode | undefined;
        if (target && !isTempPath(context, target))
          writes.push({
            node,
            call: `${ref!.source}.${name}`,
            leaves: pathLeaves(context, target),
          });
      }
      if (name !== undefined && READS.has(name))
        reads.push(pathLeaves(context, node.arguments[0] as AnyNode));
      if (node.type === 'CallExpression') {
        const method = propertyName(unwrap(node.callee as AnyNode));
        if (method && RESPONSE_READS.has(method))
          reads.push(pathLeaves(context, node.arguments[0] as AnyNode));
      }
      if (
        ref &&
        (ref.source === 'serve-static' ||
          ref.source === 'koa-static' ||
          (ref.source === 'express' && ref.path.join('.') === 'static'))
      )
        reads.push(pathLeaves(context, node.arguments[0] as AnyNode));
      if (!withCall) return;
      const member = withCall.path.join('.');
      for (const [pkg, path] of FILE_STORES) {
        if (
          withCall.source === pkg &&
          member === path &&
          !isTempPath(context, node.arguments[0] as AnyNode)
        ) {
          context.report({ node, messageId: 'fileStore', data: { pkg } });
          return;
        }
      }
      if (NEDB.includes(withCall.source) && (member === 'new' || member === 'create.()')) {
        const target = nedbFile(context, node.arguments[0] as AnyNode | undefined);
        if (target && !isTempPath(context, target))
          context.report({ node, messageId: 'fileStore', data: { pkg: withCall.source } });
        return;
      }
      checkUploads(context, node, withCall);
    };
    return {
      CallExpression: check,
      NewExpression: check,
      'Program:exit'() {
        for (const write of writes) {
          if (write.leaves.size > 0 && reads.some((r) => shares(write.leaves, r)))
            context.report({
              node: write.node,
              messageId: 'writeReadBack',
              data: { call: write.call },
            });
        }
      },
    };
  },
};
