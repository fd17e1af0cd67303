#!/usr/bin/env node
/**
 * The `drove` command line. Its own entry point: importing the library never loads this file.
 * Each command lives in `src/cli/commands/<name>.ts` and registers itself on the program.
 */
import { Command } from 'commander';
import { DroveError } from '../errors.js';
import { register as registerBuild } from './commands/build.js';
import { register as registerDynamicCheck } from './commands/check-dynamic.js';
import { register as registerRunner } from './commands/runner.js';

const program = new Command('drove')
  .description('Run a Node.js app as a herd of stateless, share-nothing processes.')
  .showHelpAfterError();

registerRunner(program);
registerBuild(program);
// The lead joins this with the static check (commands/check.ts) at merge: one `check` command.
if (!program.commands.some((c) => c.name() === 'check')) registerDynamicCheck(program);

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
