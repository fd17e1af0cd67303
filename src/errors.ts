/**
 * The one catalogue of drove's coded errors.
 *
 * Every error drove throws on purpose is a `DroveError` with a stable `code` (`DROVE_ERR_*`), an
 * optional HTTP `statusCode` and an optional `cause`. Codes are a contract: a code is never reused
 * for another meaning and never renamed. `docs/errors.md` has a section per code; a test keeps the
 * two in sync (`src/errors.test.ts`).
 *
 * @example
 * ```ts
 * import { DroveError, StoreUnavailableError } from 'drovejs/errors';
 * try { await store.get(key) } catch (err) {
 *   if (err instanceof DroveError && err.code === 'DROVE_ERR_STORE_UNAVAILABLE') retryLater();
 * }
 * throw new StoreUnavailableError({ store: 'redis', reason: 'timed out after 1000 ms' }, { cause });
 * ```
 * @module
 */

/** Base class of every coded error drove throws. */
export class DroveError extends Error {
  readonly code: string;
  readonly statusCode: number | undefined;
  /** The same as `statusCode`: Express's finalhandler and http-errors read `status`. */
  readonly status: number | undefined;
  /**
   * When a retry may succeed, in whole seconds (an HTTP `Retry-After` value), for errors that are
   * worth retrying (a store outage); undefined otherwise.
   */
  readonly retryAfter: number | undefined;
  /**
   * Headers a framework's error handler should send with the answer (Express's finalhandler and
   * Fastify send `err.headers`): `Retry-After` on a 503 (`retryAfter`, else 5 s), so that an
   * error thrown inside a handler tells clients when to come back, as drove's own answers do.
   * The session layer sets it to the adapter's `retryAfterSeconds`.
   */
  headers: Record<string, string>;
  /**
   * Whether a framework may show the message to a client (http-errors' convention, which Koa
   * follows): true for a 4xx, false for a 5xx, whose message may name a store's address.
   */
  readonly expose: boolean;
  constructor(
    code: string,
    message: string,
    statusCode?: number,
    options?: ErrorOptions & { retryAfter?: number | undefined },
  ) {
    super(`[drove] ${message}`, options);
    this.name = 'DroveError';
    this.code = code;
    this.statusCode = statusCode;
    this.status = statusCode;
    this.retryAfter = options?.retryAfter;
    const retry = this.retryAfter ?? (statusCode === 503 ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
    this.headers = retry === undefined ? {} : { 'retry-after': String(retry) };
    this.expose = statusCode !== undefined && statusCode < 500;
  }
}

/** Retry-After of a 503 when nobody configured another, in seconds. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** One entry of the catalogue, as documented in docs/errors.md. */
export interface ErrorEntry {
  code: string;
  statusCode: number | undefined;
}

/** Every code, in catalogue order. Filled by `define`; read by the docs sync test. */
export const catalogue: ErrorEntry[] = [];

/** A DroveError subclass for one code, built from a message function over typed details. */
export interface DroveErrorClass<D> {
  new (details: D, options?: ErrorOptions): DroveError & { readonly details: D };
  readonly code: string;
  readonly statusCode: number | undefined;
}

function define<D>(
  code: `DROVE_ERR_${string}`,
  statusCode: number | undefined,
  message: (details: D) => string,
  retryAfter?: (details: D) => number,
): DroveErrorClass<D> {
  catalogue.push({ code, statusCode });
  const ErrorClass = class extends DroveError {
    static readonly code = code;
    static readonly statusCode = statusCode;
    readonly details: D;
    constructor(details: D, options?: ErrorOptions) {
      super(code, message(details), statusCode, { ...options, retryAfter: retryAfter?.(details) });
      this.details = details;
    }
  };
  Object.defineProperty(ErrorClass, 'name', { value: `${toPascal(code)}Error` });
  return ErrorClass;
}

function toPascal(code: string): string {
  return code
    .replace(/^DROVE_ERR_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
}

/** Quote a user-supplied fragment in a message so that blanks and control characters show. */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

// ---------------------------------------------------------------------------------------------
// General

export const InvalidOptionError = define<{ option: string; reason: string }>(
  'DROVE_ERR_INVALID_OPTION',
  undefined,
  (d) => `invalid option ${d.option}: ${d.reason}`,
);

export const MissingPeerError = define<{ pkg: string; feature: string }>(
  'DROVE_ERR_MISSING_PEER',
  undefined,
  (d) => `${d.feature} needs the package "${d.pkg}": run \`npm install ${d.pkg}\``,
);

// ---------------------------------------------------------------------------------------------
// Stores

export const StoreUrlError = define<{ url: string; part: string; reason: string }>(
  'DROVE_ERR_STORE_URL',
  undefined,
  (d) => `bad store URL ${quote(d.url)}: ${d.reason} (at ${quote(d.part)})`,
);

export const StoreSchemeError = define<{ url: string; scheme: string; known: string[] }>(
  'DROVE_ERR_STORE_SCHEME',
  undefined,
  (d) =>
    `unknown store scheme ${quote(d.scheme)} in ${quote(d.url)}; known schemes: ${d.known.join(', ')}`,
);

export const StoreUnavailableError = define<{
  store: string;
  reason: string;
  /** Seconds after which a retry may succeed (`Retry-After`); default 1, the stores' reconnect pace. */
  retryAfter?: number;
}>(
  'DROVE_ERR_STORE_UNAVAILABLE',
  503,
  (d) => `[${d.store}] store unavailable: ${d.reason}`,
  (d) => d.retryAfter ?? 1,
);

export const StoreOutcomeUnknownError = define<{
  store: string;
  operation: string;
  reason: string;
}>(
  'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
  504,
  (d) =>
    `[${d.store}] ${d.operation}: outcome unknown (its reply was lost and the store could not tell whether it was applied): ${d.reason}`,
);

export const StoreClosedError = define<{ store: string }>(
  'DROVE_ERR_STORE_CLOSED',
  503,
  (d) => `[${d.store}] store was closed`,
);

export const ValueTooLargeError = define<{ store: string; size: number; limit: number }>(
  'DROVE_ERR_VALUE_TOO_LARGE',
  413,
  (d) => `[${d.store}] value of ${d.size} bytes exceeds the limit of ${d.limit} bytes`,
);

export const StoreProtocolError = define<{ store: string; reason: string }>(
  'DROVE_ERR_STORE_PROTOCOL',
  502,
  (d) => `[${d.store}] unexpected reply: ${d.reason}`,
);

export const InvalidKeyError = define<{ key: string; reason: string }>(
  'DROVE_ERR_INVALID_KEY',
  undefined,
  (d) => `invalid store key ${quote(d.key)}: ${d.reason}`,
);

// ---------------------------------------------------------------------------------------------
// Sessions

export const SessionCommittedError = define<{ operation: string }>(
  'DROVE_ERR_SESSION_COMMITTED',
  500,
  (d) => `cannot ${d.operation}: the session was already saved and the response headers sent`,
);

export const SessionTooLargeError = define<{ size: number; limit: number }>(
  'DROVE_ERR_SESSION_TOO_LARGE',
  500,
  (d) =>
    `session of ${d.size} bytes exceeds maxSize ${d.limit}; the stored session was left as it was`,
);

export const SessionConflictError = define<{ attempts: number; elapsedMs: number }>(
  'DROVE_ERR_SESSION_CONFLICT',
  503,
  (d) =>
    `session save lost the race ${d.attempts} times in ${d.elapsedMs} ms, its conflict retry budget; giving up`,
);

export const SessionDestroyedError = define<{ operation: string }>(
  'DROVE_ERR_SESSION_DESTROYED',
  500,
  (d) => `cannot ${d.operation}: the session was destroyed`,
);

export const SessionReplacedError = define<{ operation: string }>(
  'DROVE_ERR_SESSION_REPLACED',
  500,
  (d) =>
    `cannot ${d.operation}: this session object was replaced by regenerate(); use req.session, which is the new one`,
);

export const SessionUnsupportedError = define<{ call: string; reason: string }>(
  'DROVE_ERR_SESSION_UNSUPPORTED',
  500,
  (d) => `${d.call} is not supported: ${d.reason}`,
);

export const SessionInvalidDataError = define<{ reason: string }>(
  'DROVE_ERR_SESSION_INVALID_DATA',
  500,
  (d) => `stored session data failed validation: ${d.reason}`,
);

export const SessionDecryptError = define<{ reason: string }>(
  'DROVE_ERR_SESSION_DECRYPT',
  500,
  (d) => `stored session could not be decrypted with any configured key: ${d.reason}`,
);

export const CsrfError = define<{ method: string; origin: string }>(
  'DROVE_ERR_CSRF',
  403,
  (d) => `cross-origin ${d.method} refused (origin ${quote(d.origin)})`,
);

// ---------------------------------------------------------------------------------------------
// Scratch space

export const ScratchOutsideError = define<{ call: string }>(
  'DROVE_ERR_SCRATCH_OUTSIDE',
  500,
  (d) => `${d.call} was called outside a scratch transaction`,
);

export const ScratchPathError = define<{ name: string }>(
  'DROVE_ERR_SCRATCH_PATH',
  400,
  (d) => `scratch file name ${quote(d.name)} would leave the scratch directory`,
);

export const ScratchQuotaError = define<{ scope: 'transaction' | 'process'; limit: number }>(
  'DROVE_ERR_SCRATCH_QUOTA',
  413,
  (d) => `scratch ${d.scope} quota of ${d.limit} bytes exceeded`,
);

export const ScratchAbortedError = define<{ reason: string }>(
  'DROVE_ERR_SCRATCH_ABORTED',
  503,
  (d) => `scratch transaction aborted: ${d.reason}`,
);

export const DownloadError = define<{ url: string; reason: string }>(
  'DROVE_ERR_DOWNLOAD',
  502,
  (d) => `download of ${quote(d.url)} failed: ${d.reason}`,
);

export const DownloadRefusedError = define<{ url: string; reason: string }>(
  'DROVE_ERR_DOWNLOAD_REFUSED',
  403,
  (d) => `download of ${quote(d.url)} refused: ${d.reason}`,
);

export const DownloadTruncatedError = define<{
  url: string;
  bytes: number;
  expected: number | undefined;
}>(
  'DROVE_ERR_DOWNLOAD_TRUNCATED',
  502,
  (d) =>
    `download of ${quote(d.url)} ended early after ${d.bytes} bytes` +
    (d.expected === undefined ? '' : ` of ${d.expected}`),
);

export const DownloadTooLargeError = define<{ url: string; limit: number }>(
  'DROVE_ERR_DOWNLOAD_TOO_LARGE',
  413,
  (d) => `download of ${quote(d.url)} exceeds maxBytes ${d.limit}`,
);

export const DownloadTimeoutError = define<{ url: string; timeoutMs: number }>(
  'DROVE_ERR_DOWNLOAD_TIMEOUT',
  504,
  (d) => `download of ${quote(d.url)} did not finish within ${d.timeoutMs} ms`,
);

export const DownloadChecksumError = define<{ url: string; expected: string; actual: string }>(
  'DROVE_ERR_DOWNLOAD_CHECKSUM',
  502,
  (d) => `download of ${quote(d.url)} has SHA-256 ${d.actual}, expected ${d.expected}`,
);

// ---------------------------------------------------------------------------------------------
// Assets

export const AssetsNotBuiltError = define<{ manifest: string }>(
  'DROVE_ERR_ASSETS_NOT_BUILT',
  500,
  (d) => `no asset manifest at ${d.manifest}: run \`drove build\` (or \`npm run build\`) first`,
);

export const AssetUnknownError = define<{ name: string }>(
  'DROVE_ERR_ASSET_UNKNOWN',
  500,
  (d) => `asset ${quote(d.name)} is not in the manifest`,
);

export const BuildConfigError = define<{ source: string; reason: string }>(
  'DROVE_ERR_BUILD_CONFIG',
  undefined,
  (d) => `bad build configuration in ${d.source}: ${d.reason}`,
);

export const BuildFailedError = define<{ reason: string }>(
  'DROVE_ERR_BUILD_FAILED',
  undefined,
  (d) => `build failed: ${d.reason}`,
);

// ---------------------------------------------------------------------------------------------
// Procfile runner

export const ProcfileMissingError = define<{ file: string }>(
  'DROVE_ERR_PROCFILE_MISSING',
  undefined,
  (d) => `${d.file}: no such Procfile`,
);

export const ProcfileEmptyError = define<{ file: string }>(
  'DROVE_ERR_PROCFILE_EMPTY',
  undefined,
  (d) => `${d.file}: no process types defined (expected lines like "web: node server.js")`,
);

export const ProcfileDuplicateError = define<{
  file: string;
  line: number;
  name: string;
  firstLine: number;
}>(
  'DROVE_ERR_PROCFILE_DUPLICATE',
  undefined,
  (d) =>
    `${d.file}:${d.line}: process type ${quote(d.name)} is already defined on line ${d.firstLine}`,
);

export const ProcfileEncodingError = define<{ file: string; reason: string }>(
  'DROVE_ERR_PROCFILE_ENCODING',
  undefined,
  (d) => `${d.file}: ${d.reason}`,
);

export const FormationError = define<{ source: string; reason: string }>(
  'DROVE_ERR_FORMATION',
  undefined,
  (d) => `${d.source}: ${d.reason}`,
);

export const EnvFileError = define<{ file: string; line?: number; reason: string }>(
  'DROVE_ERR_ENV_FILE',
  undefined,
  (d) => `${d.file}${d.line === undefined ? '' : `:${d.line}`}: ${d.reason}`,
);

export const PortInUseError = define<{ port: number; host: string; owner: string }>(
  'DROVE_ERR_PORT_IN_USE',
  undefined,
  (d) => `port ${d.port} on ${d.host} (for ${d.owner}) is already in use`,
);

export const ReleaseFailedError = define<{ command: string; exitCode: number }>(
  'DROVE_ERR_RELEASE_FAILED',
  undefined,
  (d) => `release phase ${quote(d.command)} exited with code ${d.exitCode}; nothing was started`,
);

export const ControlUnreachableError = define<{ socket: string; reason: string }>(
  'DROVE_ERR_CONTROL_UNREACHABLE',
  undefined,
  (d) =>
    `no running formation answers on ${d.socket} (${d.reason}); is \`drove start\` running here?`,
);

export const InstanceUnknownError = define<{ name: string }>(
  'DROVE_ERR_INSTANCE_UNKNOWN',
  undefined,
  (d) => `no process type or instance named ${quote(d.name)} in this formation`,
);

export const AlreadyRunningError = define<{ pid: number | null; socket: string }>(
  'DROVE_ERR_ALREADY_RUNNING',
  undefined,
  (d) =>
    `a formation is already running (pid ${d.pid ?? 'unknown'}, control socket ${d.socket}) in this directory; see \`drove ps\`, or stop that runner first`,
);

export const NotRunningError = define<{ dir: string }>(
  'DROVE_ERR_NOT_RUNNING',
  undefined,
  (d) =>
    `no formation is running in ${d.dir} or any directory above it (no .drove/control.sock); run this where \`drove start\` runs, or below it`,
);

// The balancer's own answers to clients (JSON bodies, see src/runner/answers.ts).

export const NoInstanceError = define<Record<string, never>>(
  'DROVE_ERR_NO_INSTANCE',
  503,
  () => 'no instance is ready to answer; retry after the Retry-After delay',
);

export const BadGatewayError = define<Record<string, never>>(
  'DROVE_ERR_BAD_GATEWAY',
  502,
  () => 'no instance could answer this request',
);

export const GatewayTimeoutError = define<Record<string, never>>(
  'DROVE_ERR_GATEWAY_TIMEOUT',
  504,
  () => 'the instance did not send its response head in time',
);

export const BadRequestError = define<{ reason: string }>(
  'DROVE_ERR_BAD_REQUEST',
  400,
  (d) => `bad request: ${d.reason}`,
);

export const MethodNotAllowedError = define<{ method: string }>(
  'DROVE_ERR_METHOD_NOT_ALLOWED',
  405,
  (d) => `the balancer does not accept ${d.method} requests`,
);

export const RequestTimeoutError = define<Record<string, never>>(
  'DROVE_ERR_REQUEST_TIMEOUT',
  408,
  () => 'the request headers did not arrive in time',
);

// ---------------------------------------------------------------------------------------------
// Export (`drove export`)

export const ExportTargetError = define<{ target: string; known: string[] }>(
  'DROVE_ERR_EXPORT_TARGET',
  undefined,
  (d) => `unknown export target ${quote(d.target)}; known targets: ${d.known.join(', ')}`,
);

export const ExportNameError = define<{ what: string; name: string; reason: string }>(
  'DROVE_ERR_EXPORT_NAME',
  undefined,
  (d) => `${d.what} ${quote(d.name)} cannot be exported: ${d.reason}`,
);

export const ExportLocalStateError = define<{ variable: string; file: string }>(
  'DROVE_ERR_EXPORT_LOCAL_STATE',
  undefined,
  (d) =>
    `${d.file}: ${d.variable} is a sqlite: URL, a file on one host that many hosts cannot share; ` +
    'point it at a shared store (redis://, postgres://, memcached://) or pass --allow-local',
);

export const ExportOutputError = define<{ dir: string; reason: string }>(
  'DROVE_ERR_EXPORT_OUTPUT',
  undefined,
  (d) => `cannot write the export to ${quote(d.dir)}: ${d.reason}`,
);
