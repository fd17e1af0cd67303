/**
 * `drove check`, dynamic: run the app's own tests (or a scenario) against one plain instance, then
 * against an adversarial herd, and report what passes alone but fails in the herd.
 * See docs/check.md ("Dynamic: drove check -- TEST_COMMAND").
 *
 * @example
 * ```ts
 * import { runCheck } from './check/index.js';
 * const report = await runCheck({ command: ['npm', 'test'], formation: 'web=3', kill: true });
 * process.exitCode = report.exitCode; // 0 stateless, 1 findings, 2 could not run
 * ```
 * @module
 */
import { resolve } from 'node:path';
import { DroveError, InvalidOptionError } from '../errors.js';
import {
  loadEnv,
  type ProcessType,
  parseFormation,
  parseReadiness,
  RELEASE,
  readProcfile,
} from '../runner/index.js';
import { runTestCommand } from './command.js';
import { type Finding, findFindings } from './findings.js';
import { HerdStartError, type RequestRecord, type RestartRecord, startHerd } from './herd.js';
import { Hosts } from './hosts.js';
import { readScenario, runScenario, type Scenario } from './scenario.js';

export type { Finding, FindingKind } from './findings.js';
export type { RequestRecord, RestartRecord } from './herd.js';

/** Requests between two restarts when `restartEvery` is not given. */
export const DEFAULT_RESTART_EVERY = 10;
/** Web instances of the herd when the formation does not say. */
export const DEFAULT_WEB_INSTANCES = 2;

/** Options of {@link runCheck}. */
export interface CheckOptions {
  /** The app folder (where the Procfile is). Default: the current directory. */
  cwd?: string;
  /** Default `Procfile`. */
  procfile?: string;
  envFiles?: string[] | undefined;
  /** `web=3,worker=1`; web defaults to 2 and must be at least 2. */
  formation?: string | undefined;
  /** Restart a web instance every N requests; 0: never. Default {@link DEFAULT_RESTART_EVERY}. */
  restartEvery?: number | undefined;
  /** Restart by SIGKILL of a drained instance instead of a rolling restart. */
  kill?: boolean;
  /** Every instance in its own copy of the app folder, with its own TMPDIR and HOME. */
  hosts?: boolean;
  /** The test command: one shell command line, or a program and its arguments. */
  command?: string[];
  /** A scenario file instead of a test command. */
  scenario?: string | undefined;
  /** The session cookie's name; default: any cookie named like a session (`sid`, `sess`). */
  cookieName?: string | undefined;
  /** `port` (default), `explicit` or a health path, as `drove start --ready`. */
  ready?: string | undefined;
  /** TERM-to-KILL grace, and the longest drain. Default 5000. */
  shutdownTimeoutMs?: number;
  /** How long the app may take to get every web instance ready. Default 30 s. */
  readyTimeoutMs?: number;
  /** Where the formations' logs go (they are not shown by default). */
  log?: { write(chunk: string): unknown } | undefined;
  /** Where the test command's output goes while it runs. */
  echo?: { write(chunk: string): unknown } | undefined;
}

/** One run of the tests against one formation. */
export interface RunSummary {
  passed: boolean;
  /** The test command's exit code (1 for a failed scenario). */
  exitCode: number;
  /** Web instances. */
  instances: number;
  requests: RequestRecord[];
  restarts: RestartRecord[];
  /** The last lines of the test command's output (or the scenario's lines). */
  outputTail: string[];
}

/** What `drove check` found. */
export interface CheckReport {
  result: 'stateless' | 'findings' | 'error';
  /** 0 stateless, 1 findings, 2 the check could not run. */
  exitCode: 0 | 1 | 2;
  /** Why the check could not run. */
  reason?: string;
  mode: { instances: number; restartEvery: number; kill: boolean; hosts: boolean };
  alone?: RunSummary;
  herd?: RunSummary;
  findings: Finding[];
  /** The formation log's last lines, when the app did not start or a finding was made. */
  logTail?: string[];
}

/** Run the dynamic check. Never throws: a check that cannot run has `exitCode` 2 and a reason. */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const mode = {
    instances: DEFAULT_WEB_INSTANCES,
    restartEvery: options.restartEvery ?? DEFAULT_RESTART_EVERY,
    kill: options.kill ?? false,
    hosts: options.hosts ?? false,
  };
  const report = (fields: Partial<CheckReport> & Pick<CheckReport, 'result' | 'exitCode'>) => ({
    mode,
    findings: [],
    ...fields,
  });
  const hosts: Hosts[] = [];
  try {
    const cwd = resolve(options.cwd ?? process.cwd());
    const procfile = options.procfile ?? 'Procfile';
    const entries = readProcfile(resolve(cwd, procfile));
    const types: ProcessType[] = entries
      .map((e, index) => ({ name: e.name, command: e.command, index }))
      .filter((t) => t.name !== RELEASE);
    if (!types.some((t) => t.name === 'web')) {
      throw new InvalidOptionError({
        option: '-f',
        reason: `${procfile} has no web process type: there is nothing to send requests to`,
      });
    }
    const counts = herdCounts(options.formation, types);
    mode.instances = counts.get('web') ?? 0;
    const test = testOf(options);
    const { env } = loadEnv(options.envFiles, process.env, cwd);
    const readiness = parseReadiness(options.ready);

    const release = entries.find((e) => e.name === RELEASE);
    const run = async (adversarial: boolean, formation: Map<string, number>) => {
      // As `drove start` does: the release phase (migrations) once, before the formation starts.
      if (release) {
        const outcome = await runTestCommand([release.command], '', {
          cwd,
          env: { ...process.env, ...env, PS: 'release.1', DYNO: 'release.1' },
          ...(options.log ? { echo: options.log } : {}),
        });
        if (outcome.code !== 0) {
          throw new HerdStartError(
            `the release phase failed (exit ${outcome.code}): ${release.command}`,
            outcome.outputTail,
          );
        }
      }
      let runTypes = types;
      if (mode.hosts) {
        const h = new Hosts(cwd);
        hosts.push(h);
        for (const [name, n] of formation) for (let i = 1; i <= n; i++) h.prepare(`${name}.${i}`);
        runTypes = types.map((t) => ({ ...t, command: h.wrap(t.command) }));
      }
      const herd = await startHerd({
        cwd,
        types: runTypes,
        env,
        counts: formation,
        adversarial,
        cookieName: options.cookieName,
        restartEvery: adversarial ? mode.restartEvery : 0,
        kill: mode.kill,
        readiness,
        shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
        readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
        log: options.log,
      });
      try {
        const outcome = await test(herd.url, { cwd, env });
        const summary: RunSummary = {
          passed: outcome.code === 0,
          exitCode: outcome.code,
          instances: formation.get('web') ?? 0,
          requests: herd.records,
          restarts: herd.restarts,
          outputTail: outcome.outputTail,
        };
        return {
          summary,
          missing: outcome.missing,
          failed: outcome.failed,
          logTail: herd.logTail(),
        };
      } finally {
        await herd.stop();
      }
    };

    const plain = new Map(counts);
    plain.set('web', 1);
    const alone = await run(false, plain);
    if (alone.missing) {
      return report({
        result: 'error',
        exitCode: 2,
        reason: `the test command could not be run (${alone.summary.outputTail.at(-1) ?? `exit ${alone.summary.exitCode}`})`,
        alone: alone.summary,
      });
    }
    if (!alone.summary.passed) {
      return report({
        result: 'error',
        exitCode: 2,
        reason: `the tests fail against one plain instance (exit ${alone.summary.exitCode}): make them pass there first`,
        alone: alone.summary,
        logTail: alone.logTail,
      });
    }
    const herd = await run(true, counts);
    if (herd.summary.passed) {
      return report({ result: 'stateless', exitCode: 0, alone: alone.summary, herd: herd.summary });
    }
    return report({
      result: 'findings',
      exitCode: 1,
      alone: alone.summary,
      herd: herd.summary,
      findings: findFindings(
        alone.summary.requests,
        herd.summary.requests,
        herd.summary.restarts,
        herd.failed?.seq,
      ).map((f) =>
        herd.failed ? { ...f, step: { name: herd.failed.name, reason: herd.failed.reason } } : f,
      ),
      logTail: herd.logTail,
    });
  } catch (err) {
    if (err instanceof HerdStartError) {
      return report({ result: 'error', exitCode: 2, reason: err.message, logTail: err.logTail });
    }
    if (err instanceof DroveError) {
      return report({ result: 'error', exitCode: 2, reason: `${err.message} (${err.code})` });
    }
    // Anything else (a host copy that failed, say) also means the check could not run.
    return report({ result: 'error', exitCode: 2, reason: String((err as Error)?.message ?? err) });
  } finally {
    for (const h of hosts) h.remove();
  }
}

/** The herd's formation: web at least 2 (default {@link DEFAULT_WEB_INSTANCES}). */
function herdCounts(spec: string | undefined, types: ProcessType[]): Map<string, number> {
  const counts = parseFormation(
    spec,
    types.map((t) => t.name),
  );
  const saysWeb = spec !== undefined && /(^|,)\s*(web|all)\s*=/.test(spec);
  if (!saysWeb) counts.set('web', DEFAULT_WEB_INSTANCES);
  const web = counts.get('web') ?? 0;
  if (web < 2) {
    throw new InvalidOptionError({
      option: '-m',
      reason: `the herd needs at least 2 web instances, got web=${web}`,
    });
  }
  return counts;
}

type Test = (
  url: string,
  context: { cwd: string; env: Record<string, string> },
) => Promise<{
  code: number;
  outputTail: string[];
  missing: boolean;
  /** A scenario's failed step: its request's seq (the scenario's requests are the only ones). */
  failed?: { seq: number; name: string; reason: string };
}>;

/** The test command, or the scenario, as one function of the base URL. */
function testOf(options: CheckOptions): Test {
  if (options.scenario !== undefined) {
    if (options.command && options.command.length > 0) {
      throw new InvalidOptionError({
        option: '--scenario',
        reason: 'give either a scenario or a test command after --, not both',
      });
    }
    const scenario: Scenario = readScenario(options.scenario);
    return async (url) => {
      const outcome = await runScenario(scenario, url);
      for (const line of outcome.lines) options.echo?.write(`${line}\n`);
      return {
        code: outcome.passed ? 0 : 1,
        outputTail: outcome.lines.slice(-40),
        missing: false,
        ...(outcome.failed
          ? {
              failed: {
                seq: outcome.failed.index + 1,
                name: outcome.failed.name,
                reason: outcome.failed.reason,
              },
            }
          : {}),
      };
    };
  }
  const command = options.command ?? [];
  if (command.length === 0) {
    throw new InvalidOptionError({
      option: '--',
      reason: 'no test command: give one after -- (drove check -- npm test) or use --scenario FILE',
    });
  }
  return (url, { cwd, env }) =>
    runTestCommand(command, url, {
      cwd,
      env: { ...process.env, ...env },
      ...(options.echo ? { echo: options.echo } : {}),
    });
}
