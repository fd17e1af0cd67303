/**
 * The contract between `drove start` and the processes it runs: the environment it gives each
 * instance and the messages its control socket speaks. Both sides import this file — the runner
 * (supervisor.ts, control.ts, start.ts) and the app side (`drovejs/process`) — so it imports
 * nothing, and `drovejs/process` stays free of the rest of the runner.
 *
 * **Environment.** Every instance gets `PORT`, `PS` and `DYNO` (the Heroku names) and:
 * - `DROVE_INSTANCE`: its name, e.g. `web.1`;
 * - `DROVE_READY_TOKEN`: a random token, new for each spawn, that proves a `ready` message comes
 *   from that spawn and not from an earlier one of the same name;
 * - `DROVE_CONTROL_SOCKET`: the path of the control socket (absent when there is none, e.g. in a
 *   one-off `drove run`).
 *
 * **Control socket.** A Unix socket (see control.ts for where it lives). A client connects, writes
 * one {@link ControlRequest} as a line of JSON (`{"cmd":"ps"}\n`), and reads one
 * {@link ControlResponse} as JSON up to the end of the stream; the runner then closes the
 * connection. `ps`, `restart` and `scale` come from the `drove` commands; `ready` comes from an
 * instance (`ready()` in `drovejs/process`) and is accepted only with the token of the spawn
 * that is currently starting under that name.
 * @module
 */

/** Names of the environment variables the runner sets for each instance. */
export const INSTANCE_ENV = {
  /** Path of the control socket. */
  controlSocket: 'DROVE_CONTROL_SOCKET',
  /** The instance's name, e.g. `web.1`. */
  instance: 'DROVE_INSTANCE',
  /** The spawn's token, sent back with `ready`. */
  readyToken: 'DROVE_READY_TOKEN',
} as const;

/** A request on the control socket. */
export type ControlRequest =
  /** The formation's instances and their routing state (`drove ps`). */
  | { cmd: 'ps' }
  /** Rolling restart of every instance, or of one type or instance (`drove restart [target]`). */
  | { cmd: 'restart'; target?: string }
  /** New instance counts, in Procfile formation syntax, e.g. `web=3` (`drove scale`). */
  | { cmd: 'scale'; formation: string }
  /** The instance named `instance` is ready for traffic (`ready()`, `--ready explicit`). */
  | { cmd: 'ready'; instance: string; token: string };

/** Every command of the control socket. */
export type ControlCommand = ControlRequest['cmd'];

/** The answer: `ok` with a result, or an error with its `DROVE_ERR_*` code. */
export type ControlResponse =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string } };

/** A message as it goes on the control socket: one line of JSON. */
export function encodeMessage(message: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}
