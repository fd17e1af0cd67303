/**
 * `drovejs/runner`: the Procfile runner behind `drove start`, as a library.
 *
 * @example
 * ```ts
 * import { parseProcfile, parseFormation, start } from 'drovejs/runner';
 * const entries = parseProcfile('web: node server.js\n');
 * process.exitCode = await start({ formation: 'web=2' });
 * ```
 * @module
 */
export {
  type Clock,
  type RestartDecision,
  RestartPolicy,
  type RestartPolicyOptions,
} from './backoff.js';
export {
  type Balancer,
  type BalancerOptions,
  type BalancerStrategy,
  createBalancer,
} from './balancer.js';
export { callControl, controlSocketPath } from './control.js';
export { loadEnv, parseEnv, splitList } from './env.js';
export { MAX_INSTANCES_PER_TYPE, parseFormation, portFor, RELEASE } from './formation.js';
export { findControlSocket } from './locate.js';
export { FormationLog, type LogOptions } from './log.js';
export { type RunOptions, runOneOff } from './oneoff.js';
export { type ProcfileEntry, parseProcfile, readProcfile } from './procfile.js';
export {
  type ControlCommand,
  type ControlRequest,
  type ControlResponse,
  encodeMessage,
  INSTANCE_ENV,
} from './protocol.js';
export { parseReadiness, type Readiness } from './readiness.js';
export {
  type Candidate,
  type PickRequest,
  Selector,
  type SelectorOptions,
  STRATEGIES,
  type Strategy,
} from './selection.js';
export {
  parseUpstreams,
  startStandaloneBalancer,
} from './standalone-balancer.js';
export { type StartOptions, signalExitCode, start } from './start.js';
export { type InstanceStatus, type ProcessType, Supervisor } from './supervisor.js';
