#!/usr/bin/env node
/**
 * The `drove` command line. Its own entry point: importing the library never loads this file.
 * Each command lives in `src/cli/commands/<name>.ts` and registers itself on the program.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DroveError } from '../errors.js';
import { register as registerBalance } from './commands/balance.js';
import { register as registerBuild } from './commands/build.js';
import { register as registerCheck } from './commands/check.js';
import { register as registerExport } from './commands/export.js';
import { register as registerRunner } from './commands/runner.js';

const program = new Command('drove')
  .description('Run a Node.js app as a herd of stateless, share-nothing processes.')
  .version(packageVersion(), '-V, --version', 'print the version of drove')
  .showHelpAfterError();

/** The version in package.json (two levels up from src/cli/ and from dist/cli/ alike). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

registerRunner(program);
registerBuild(program);
registerExport(program);
registerBalance(program);
registerCheck(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof DroveError) {
    process.stderr.write(`${err.message} (${err.code})\n`);
    process.exit(
      typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : 1,
    );
  }
  throw err;
}
