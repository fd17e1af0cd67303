/**
 * `drove build`: compile the assets configured in package.json (`drove.assets`) or
 * drove.config.json into the build folder. Run it in the build stage, never at process start.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { buildAssets } from '../../assets/build.js';

/** Register the `build` command. */
export function register(program: Command): void {
  program
    .command('build')
    .description(
      'compile the configured asset entry points (JS/TS/CSS) into content-hashed files, ' +
        '.br/.gz siblings and manifest.json; same input, same bytes',
    )
    .option('-C, --cwd <dir>', 'project root holding package.json or drove.config.json', '.')
    .option('-q, --quiet', 'print nothing on success')
    .action(async (options: { cwd: string; quiet?: boolean }) => {
      const root = path.resolve(options.cwd);
      const result = await buildAssets({ root });
      for (const warning of result.warnings) process.stderr.write(`drove: warning: ${warning}\n`);
      if (options.quiet) return;
      const out = path.relative(process.cwd(), result.outdir) || '.';
      const lines = result.files.map((f) => {
        const packed = [f.br && `br ${f.br}`, f.gz && `gz ${f.gz}`].filter(Boolean).join(', ');
        return `  ${f.path}  ${f.size} B${packed ? ` (${packed})` : ''}`;
      });
      const entries = Object.entries(result.manifest.entries).map(
        ([name, file]) => `  ${name} -> ${file}`,
      );
      process.stdout.write(
        `drove: built ${result.files.length} files into ${out}\n${lines.join('\n')}\n` +
          `entries:\n${entries.join('\n')}\n`,
      );
    });
}
