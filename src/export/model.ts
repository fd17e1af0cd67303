/**
 * The formation every export target renders: the Procfile's types with their counts and
 * commands, the names of the `.env` variables (never their values), and the deploy settings.
 * Everything that can be wrong with the input is found here, before anything is written.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  EnvFileError,
  ExportLocalStateError,
  ExportNameError,
  FormationError,
  InvalidOptionError,
} from '../errors.js';
import { parseEnv, parseFormation, RELEASE, readProcfile } from '../runner/index.js';
import { type CommandForm, commandForm } from './command.js';

/** Options shared by every target, as `drove export` passes them. */
export interface ExportOptions {
  /** Folder the paths are relative to. Default: the current directory. */
  cwd?: string;
  /** Default `Procfile`. */
  procfile?: string;
  /** `.env` files whose variable NAMES are referenced. Default `.env` when it exists. */
  envFiles?: string[];
  /** `web=3,worker=2` or `all=N`. Types not named get 1; `=0` leaves a type out. */
  formation?: string;
  /** Default: package.json's `name` without its scope, else the folder's name. */
  app?: string;
  /** Image the containers run. Default `APP:latest`. */
  image?: string;
  /** Base image of the Dockerfile. Default `node:24-slim`. */
  baseImage?: string;
  /** Seconds between SIGTERM and SIGKILL. Default 30 (Heroku's and Kubernetes' grace). */
  shutdownTimeoutSeconds?: number;
  /** HTTP path the probes and health checks ask (else they only connect to the port). */
  healthPath?: string;
  /** Export even when a `.env` variable is a `sqlite:` URL (with a warning). */
  allowLocal?: boolean;
  /** Compose: add these backing services. */
  withServices?: BackingService[];
  /** systemd: where the app is installed on the host. Default `/srv/APP`. */
  workdir?: string;
}

/** A backing service the Compose target can add. */
export type BackingService = 'redis' | 'postgres';

/** One process type of the formation. */
export interface ProcessPlan {
  /** As in the Procfile, e.g. `slow_worker`. */
  name: string;
  /** The engines' name for it: lowercase, `_` as `-`, e.g. `slow-worker`. */
  slug: string;
  /** The command as written. */
  command: string;
  form: CommandForm;
  /** Position in the Procfile, from 0 (the runner's port scheme). */
  index: number;
  /** Instances (replicas); at least 1. */
  count: number;
}

/** What every target renders. */
export interface Formation {
  app: string;
  image: string;
  baseImage: string;
  /** Types with at least one instance, in Procfile order; `web` gets the traffic. */
  types: ProcessPlan[];
  web: ProcessPlan | undefined;
  release: ProcessPlan | undefined;
  /** `.env` files as given, relative to `cwd`. */
  envFiles: string[];
  /** Names of the variables in the `.env` files, sorted, minus the ones drove sets. */
  envNames: string[];
  /** The port web listens on in a container, and the balancer's port. */
  port: number;
  shutdownTimeoutSeconds: number;
  /** The pause between leaving the load balancer and SIGTERM (endpoint removal races SIGTERM). */
  drainSeconds: number;
  healthPath: string | undefined;
  withServices: BackingService[];
  workdir: string;
  /** Things the user should know (e.g. a sqlite: URL exported with --allow-local). */
  warnings: string[];
}

/** Variables drove sets itself in every target; a `.env` value for them is not referenced. */
const SET_BY_DROVE = new Set(['PORT', 'PS', 'DYNO', 'HOST']);
/** A DNS label, which Kubernetes and Compose names must be; short enough for the suffixes. */
const APP_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const MAX_APP = 40;
const MAX_OBJECT = 63;
const SQLITE = /^sqlite3?:/i;
/** The port of `web` inside every container (each container has its own network). */
export const CONTAINER_PORT = 5000;

/**
 * Read the Procfile and `.env` files and settle the formation. Throws a coded error for a
 * missing Procfile, an unknown type in `formation`, a name no engine accepts, or a `sqlite:`
 * URL without `allowLocal`.
 *
 * @example
 * ```ts
 * const formation = buildFormation({ formation: 'web=3', app: 'shop' });
 * formation.types.map((t) => `${t.slug}=${t.count}`); // ['web=3', 'worker=1']
 * ```
 */
export function buildFormation(options: ExportOptions = {}): Formation {
  const cwd = resolve(options.cwd ?? process.cwd());
  const entries = readProcfile(resolve(cwd, options.procfile ?? 'Procfile'));
  const app = appName(options.app, cwd);
  const typeNames = entries.map((e) => e.name).filter((n) => n !== RELEASE);
  const counts = parseFormation(options.formation, typeNames);
  const seen = new Map<string, string>();
  const plans = entries.map((entry, index): ProcessPlan => {
    const slug = typeSlug(entry.name, app, seen);
    return {
      name: entry.name,
      slug,
      command: entry.command,
      form: commandForm(entry.command),
      index,
      count: entry.name === RELEASE ? 1 : (counts.get(entry.name) ?? 1),
    };
  });
  const warnings: string[] = [];
  const envFiles = options.envFiles ?? (existsSync(resolve(cwd, '.env')) ? ['.env'] : []);
  const envNames = new Set<string>();
  for (const file of envFiles) {
    for (const [name, value] of Object.entries(readEnvFile(resolve(cwd, file), file))) {
      if (SQLITE.test(value.trim())) {
        if (!options.allowLocal) throw new ExportLocalStateError({ variable: name, file });
        warnings.push(
          `${file}: ${name} is a sqlite: URL; every host reads its own file (--allow-local)`,
        );
      }
      if (!SET_BY_DROVE.has(name)) envNames.add(name);
    }
  }
  const timeout = options.shutdownTimeoutSeconds ?? 30;
  if (!Number.isInteger(timeout) || timeout < 1) {
    throw new InvalidOptionError({
      option: '-t',
      reason: `expected whole seconds >= 1, got ${timeout}`,
    });
  }
  const healthPath = options.healthPath;
  if (healthPath !== undefined && !/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(healthPath)) {
    throw new InvalidOptionError({
      option: '--health-path',
      reason: `expected a URL path starting with /, got ${JSON.stringify(healthPath)}`,
    });
  }
  const image = options.image ?? `${app}:latest`;
  const baseImage = options.baseImage ?? 'node:24-slim';
  checkImage('--image', image);
  checkImage('--base-image', baseImage);
  const types = plans.filter((p) => p.name !== RELEASE && p.count > 0);
  if (types.length === 0) {
    throw new FormationError({
      source: `-m ${options.formation ?? ''}`,
      reason: 'every process type has 0 instances: there is nothing to export',
    });
  }
  return {
    app,
    image,
    baseImage,
    types,
    web: types.find((t) => t.name === 'web'),
    release: plans.find((p) => p.name === RELEASE),
    envFiles,
    envNames: [...envNames].sort(),
    port: CONTAINER_PORT,
    shutdownTimeoutSeconds: timeout,
    drainSeconds: 5,
    healthPath,
    withServices: [...new Set(options.withServices ?? [])].sort(),
    workdir: options.workdir ?? `/srv/${app}`,
    warnings,
  };
}

function appName(given: string | undefined, cwd: string): string {
  if (given !== undefined) return checkApp(given, '--app');
  let fromPackage: string | undefined;
  try {
    const pkg = JSON.parse(readFileSync(resolve(cwd, 'package.json'), 'utf8')) as {
      name?: unknown;
    };
    if (typeof pkg.name === 'string') fromPackage = pkg.name.replace(/^@[^/]+\//, '');
  } catch {
    // No package.json (or not JSON): fall back to the folder's name.
  }
  // A derived name is made to fit (My_App -> my-app); one given with --app is taken as it is.
  const derived = (fromPackage ?? basename(cwd))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return checkApp(derived, fromPackage ? 'package.json name' : 'folder name');
}

function checkApp(name: string, what: string): string {
  const reason = !APP_NAME.test(name)
    ? 'use lowercase letters, digits and "-", starting with a letter (pass --app NAME)'
    : name.length > MAX_APP
      ? `at most ${MAX_APP} characters (pass --app NAME)`
      : undefined;
  if (reason) throw new ExportNameError({ what: `app name (${what})`, name, reason });
  return name;
}

function typeSlug(name: string, app: string, seen: Map<string, string>): string {
  const slug = name.toLowerCase().replaceAll('_', '-');
  const what = 'process type';
  if (!APP_NAME.test(slug)) {
    throw new ExportNameError({
      what,
      name,
      reason: 'engines need it to start with a letter and not to end with "-" or "_"',
    });
  }
  const other = seen.get(slug);
  if (other !== undefined) {
    throw new ExportNameError({
      what,
      name,
      reason: `it and ${JSON.stringify(other)} both become ${JSON.stringify(slug)}`,
    });
  }
  // The longest object name: APP-TYPE-release-HASH8 for the Job, APP-TYPE otherwise.
  if (`${app}-${slug}`.length > MAX_OBJECT - 9) {
    throw new ExportNameError({
      what,
      name,
      reason: `"${app}-${slug}" is longer than ${MAX_OBJECT - 9} characters`,
    });
  }
  seen.set(slug, name);
  return slug;
}

function readEnvFile(path: string, file: string): Record<string, string> {
  try {
    return parseEnv(readFileSync(path));
  } catch (err) {
    throw new EnvFileError({ file, reason: (err as Error).message }, { cause: err });
  }
}

function checkImage(option: string, image: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/.test(image)) {
    throw new InvalidOptionError({
      option,
      reason: `expected an image reference like node:24-slim, got ${JSON.stringify(image)}`,
    });
  }
}
