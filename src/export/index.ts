/**
 * `drovejs/export`: the Procfile formation as Kubernetes manifests, a Compose file, systemd units
 * or a Dockerfile. See docs/deploy.md.
 *
 * @example
 * ```ts
 * import { exportFormation } from 'drovejs/export';
 * const { files, warnings } = exportFormation('kubernetes', { formation: 'web=3', app: 'shop' });
 * ```
 * @module
 */
import { resolve } from 'node:path';
import { ExportTargetError } from '../errors.js';
import { renderCompose } from './compose.js';
import { renderDockerfile } from './dockerfile.js';
import type { ExportFile } from './files.js';
import { renderKubernetes } from './kubernetes.js';
import { buildFormation, type ExportOptions, type Formation } from './model.js';
import { renderSystemd } from './systemd.js';
import { writeExport } from './write.js';

export { type CommandForm, commandForm } from './command.js';
export type { ExportFile } from './files.js';
export { releaseJobName, secretName } from './kubernetes.js';
export {
  type BackingService,
  buildFormation,
  type ExportOptions,
  type Formation,
  type ProcessPlan,
} from './model.js';
export { MARKER, writeExport } from './write.js';

/** The export targets. */
export const TARGETS = ['kubernetes', 'compose', 'systemd', 'dockerfile'] as const;
export type ExportTarget = (typeof TARGETS)[number];

/** Options of {@link exportFormation}: the formation's, plus where the files will go. */
export interface ExportFormationOptions extends ExportOptions {
  /** Output folder. Default `deploy/TARGET` under `cwd`. */
  out?: string;
}

/** What {@link exportFormation} produced. */
export interface ExportResult {
  target: ExportTarget;
  /** Absolute output folder. */
  out: string;
  files: ExportFile[];
  formation: Formation;
  warnings: string[];
}

/**
 * Render a target in memory (nothing is written: see {@link writeExport}).
 *
 * @example
 * ```ts
 * const result = exportFormation('systemd', { app: 'shop', formation: 'web=2' });
 * result.files.map((f) => f.path); // ['shop.target', 'shop-web@.service', ...]
 * ```
 */
export function exportFormation(
  target: string,
  options: ExportFormationOptions = {},
): ExportResult {
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new ExportTargetError({ target, known: [...TARGETS] });
  }
  const cwd = resolve(options.cwd ?? process.cwd());
  const out = resolve(cwd, options.out ?? `deploy/${target}`);
  const formation = buildFormation({ ...options, cwd });
  const files = render(target as ExportTarget, formation, out, cwd);
  return { target: target as ExportTarget, out, files, formation, warnings: formation.warnings };
}

function render(target: ExportTarget, f: Formation, out: string, cwd: string): ExportFile[] {
  switch (target) {
    case 'kubernetes':
      return renderKubernetes(f);
    case 'compose':
      return renderCompose(f, out, cwd);
    case 'systemd':
      return renderSystemd(f);
    case 'dockerfile':
      return renderDockerfile(f);
  }
}
