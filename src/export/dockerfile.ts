/**
 * Dockerfile target: a build stage (`npm ci`, the app's build, `drove build`, then production
 * dependencies only), a runtime stage run as a non-root user, and one final stage per process
 * type (`docker build --target worker`); the last one, web, is the default. One process type per
 * container: the runner (`drove start`) is for one machine, the engine runs the formation.
 * @module
 */
import { argvFor, literalPort } from './command.js';
import { DROVE_IN_IMAGE, healthCommand } from './compose.js';
import { type ExportFile, header } from './files.js';
import type { Formation, ProcessPlan } from './model.js';

/** The build arguments of an offline build, with the npm cache in the context's `.npm-cache/`. */
const OFFLINE_FLAGS = 'NPM_CI_FLAGS="--offline --cache /app/.npm-cache"';

/** Render `Dockerfile` and the `Dockerfile.dockerignore` BuildKit reads beside it. */
export function renderDockerfile(f: Formation): ExportFile[] {
  const lines = [
    header('dockerfile').trimEnd(),
    `# Build from the project's root: docker build -f <this file> -t ${f.image} .`,
    '# Every process type has its stage (--target TYPE); the default is the last one.',
    `ARG BASE_IMAGE=${f.baseImage}`,
    '',
    'FROM $BASE_IMAGE AS build',
    'WORKDIR /app',
    '# Extra flags for npm ci and npm prune. Offline: an npm cache in .npm-cache/ of the build',
    `# context and ${OFFLINE_FLAGS}.`,
    'ARG NPM_CI_FLAGS=""',
    '# The whole context before npm ci, so that such a cache is there when npm ci reads it.',
    'COPY . .',
    'RUN npm ci $NPM_CI_FLAGS',
    '# The build stage of build-release-run: compiled code and hashed assets are in the image.',
    `RUN npm run build --if-present && node ${DROVE_IN_IMAGE} build`,
    '# The cache stays in this stage: the runtime stage copies /app without it.',
    'RUN npm prune --omit=dev $NPM_CI_FLAGS && rm -rf .npm-cache',
    '',
    'FROM $BASE_IMAGE AS runtime',
    'ENV NODE_ENV=production',
    'WORKDIR /app',
    '# Owned by root and run as uid 1000 (node in the node images): the app cannot change itself.',
    'COPY --from=build /app /app',
    'USER 1000:1000',
    'STOPSIGNAL SIGTERM',
  ];
  const last = f.web ?? f.types[f.types.length - 1];
  const ordered = [
    ...(f.release ? [f.release] : []),
    ...f.types.filter((t) => t !== last),
    ...(last ? [last] : []),
  ];
  for (const plan of ordered) lines.push('', ...stage(f, plan));
  return [
    { path: 'Dockerfile', text: `${lines.join('\n')}\n` },
    { path: 'Dockerfile.dockerignore', text: dockerignore() },
  ];
}

function stage(f: Formation, plan: ProcessPlan): string[] {
  const lines = [`FROM runtime AS ${plan.slug}`, `ENV PS=${plan.name}`];
  if (plan === f.web) {
    lines.push(
      `ENV PORT=${f.port}`,
      `EXPOSE ${f.port}`,
      // Node, not curl: a minimal image has no curl.
      `HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ${JSON.stringify(healthCommand(f))}`,
    );
  } else lines.push('HEALTHCHECK NONE');
  lines.push(`CMD ${JSON.stringify(argvFor(plan.form, literalPort(f.port)))}`);
  return lines;
}

function dockerignore(): string {
  return [
    header('dockerfile').trimEnd(),
    '# Never send secrets or local state to the build (copy to .dockerignore for the legacy builder).',
    '.env',
    '.env.*',
    '.drove',
    '.git',
    'node_modules',
    'deploy',
    '',
  ].join('\n');
}
