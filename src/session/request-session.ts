/**
 * One request's session: the data the handler sees (a Proxy over a plain object, so that changes
 * after the response was committed throw), what was loaded, and the save algorithm — per-key
 * change detection, conditional writes, reload-and-reapply on conflicts.
 */
import {
  DroveError,
  InvalidOptionError,
  SessionCommittedError,
  SessionDestroyedError,
  SessionInvalidDataError,
  SessionReplacedError,
  SessionTooLargeError,
} from '../errors.js';
import type { StoreEntry, WriteResult } from '../stores/types.js';
import type { StoredRecord } from './codec.js';
import { ConflictBackoff } from './conflict-retry.js';
import type { SessionContext } from './context.js';
import { createCookieView } from './cookie-view.js';
import { isWellFormedId, newSessionId, storeKeyOf } from './id.js';
import { TrackedPromise } from './tracked.js';
import type {
  RegenerateOptions,
  Session,
  SessionCallback,
  SessionControls,
  SessionCookieView,
  SessionData,
} from './types.js';

/** What backs a session that exists in the store. */
interface Loaded {
  key: string;
  version: string;
  expiresAt: number;
  owner: string | undefined;
  createdAt: number;
  /** See StoredRecord.cookieExpiresAt. */
  cookieExpiresAt: number | undefined;
}

/** See StoredRecord.lifetimeMs: this session's own lifetime, `null` for a browser-session cookie. */
type Lifetime = number | null | undefined;

type Controls = Omit<SessionControls<SessionData>, 'isNew' | 'id' | 'cookie'>;
const CONTROL_NAMES = new Set([
  'update',
  'regenerate',
  'destroy',
  'save',
  'reload',
  'touch',
  'setOwner',
  'destroyAll',
  'isNew',
  'id',
  'cookie',
]);
const OWNER_PATTERN = /^[\x21-\x7e]{1,200}$/;

export class RequestSession<T extends SessionData = SessionData> {
  /**
   * The object handlers use as `req.session`. A new one after `regenerate()` when the adapter
   * asked for that ({@link replaceOnRegenerate}).
   */
  session: Session<T>;
  readonly #ctx: SessionContext<T>;
  readonly #secure: boolean;
  /** Data as the handler sees it (null prototype: `__proto__` is just a key). */
  #data: Record<string, unknown> = Object.create(null);
  /** Serialization of each top-level key as loaded (or last written). */
  #snapshot = new Map<string, string>();
  #id: string | undefined;
  /** The id the first create will use, drawn when a handler reads `id` of a new session. */
  #pendingId: string | undefined;
  /** This session's own lifetime (`cookie.maxAge`), and whether it changed in this request. */
  #lifetime: Lifetime;
  #lifetimeChanged = false;
  /** `touch()` was called: extend the expiry at commit regardless of the throttle. */
  #touchDue = false;
  #replace: ((session: Session<SessionData>) => void) | undefined;
  #cookieView: SessionCookieView | undefined;
  /** Failures of session methods nobody awaited: the response answers the first one. */
  #missed: Array<{ err: unknown; promise: TrackedPromise<unknown> }> = [];
  /** Session methods still running (called bare, express-session style): commit waits for them. */
  #inFlight: Set<Promise<unknown>> | undefined;
  #loaded: Loaded | undefined;
  #owner: string | undefined;
  #regenerate: { oldKey: string; owner: string | undefined } | undefined;
  #destroyed = false;
  #clearCookie = false;
  /** A write of this request needs the cookie (re)sent: a new id, or an expiry moved far enough. */
  #cookieDue = false;
  #sealed = false;
  #controls: Controls | undefined;
  /** Set-Cookie lines to add at commit (see the compatibility block). */
  #extraCookies: string[] | undefined;

  private constructor(ctx: SessionContext<T>, secure: boolean) {
    this.#ctx = ctx;
    this.#secure = secure;
    this.session = this.#proxy();
  }

  #proxy(): Session<T> {
    return new Proxy(this.#data, new RequestSession.#Traps(this)) as unknown as Session<T>;
  }

  /**
   * Make `regenerate(callback)` hand out a new session object (passed to `assign`, which puts it on the
   * request) instead of emptying this one, as express-session does: code that kept the old
   * object (Passport's `keepSessionInfo`) still reads the old data from it, and writing to it
   * throws DROVE_ERR_SESSION_REPLACED instead of being lost.
   */
  replaceOnRegenerate(assign: (session: Session<T>) => void): void {
    this.#replace = assign as (session: Session<SessionData>) => void;
  }

  /** The session id: the loaded one, or the one a first write will use. */
  get id(): string {
    if (this.#id !== undefined) return this.#id;
    this.#pendingId ??= newSessionId();
    return this.#pendingId;
  }

  /**
   * The session of a request: no store call without a well-formed cookie, one `get` otherwise.
   * @param cookieHeader the request's Cookie header
   * @param https whether the request came over HTTPS (decides Secure and the cookie name)
   */
  static async load<T extends SessionData>(
    ctx: SessionContext<T>,
    cookieHeader: string | undefined,
    https: boolean,
  ): Promise<RequestSession<T>> {
    const secure = ctx.cookie.isSecure(https);
    const fresh = new RequestSession(ctx, secure);
    const id = ctx.cookie.read(cookieHeader, secure);
    if (id === undefined) {
      ctx.emit?.({ type: 'load', outcome: 'none' });
      return fresh;
    }
    if (!isWellFormedId(id)) {
      ctx.emit?.({ type: 'load', outcome: 'rejected' });
      return fresh;
    }
    const key = storeKeyOf(id);
    const entry = await ctx.get(key);
    if (!entry) {
      ctx.emit?.({ type: 'load', outcome: 'miss' });
      return fresh;
    }
    let record: StoredRecord;
    try {
      record = await fresh.#decode(entry, key);
    } catch (err) {
      if (!(ctx.discardInvalid && err instanceof DroveError)) throw err;
      ctx.emit?.({ type: 'load', outcome: 'invalid' });
      return fresh;
    }
    const now = ctx.now();
    if (entry.expiresAt <= now || record.createdAt + ctx.absoluteMs <= now) {
      ctx.emit?.({ type: 'load', outcome: 'expired' });
      // The store may still keep it (touches extend the idle window, not the absolute one).
      await ctx.delete(key);
      return fresh;
    }
    ctx.emit?.({ type: 'load', outcome: 'hit' });
    fresh.#id = id;
    fresh.#lifetime = record.lifetimeMs;
    fresh.#adopt(record.data, fromEntry(key, entry, record));
    return fresh;
  }

  /**
   * Save what changed and return the Set-Cookie lines to send. Seals the session: changing it
   * afterwards throws DROVE_ERR_SESSION_COMMITTED. Idempotent.
   */
  commit(): Promise<string[]> {
    const extra = this.#extraCookies;
    if (!extra) return this.#commit();
    this.#extraCookies = undefined;
    return this.#commit().then((lines) => [...lines, ...extra]);
  }

  async #commit(): Promise<string[]> {
    if (this.#sealed) return [];
    this.#sealed = true;
    // `req.session.destroy(); res.redirect('/')`: the response reflects the destroy, and a
    // destroy that failed unawaited must not pass for a logout.
    while (this.#inFlight?.size) await Promise.allSettled([...this.#inFlight]);
    const missed = this.#missed.find((m) => !m.promise.observed);
    if (missed) throw missed.err;
    const ctx = this.#ctx;
    const cleared = this.#clearCookie ? [ctx.cookie.clear(this.#secure)] : [];
    if (this.#destroyed) return cleared;
    const changes = this.#changes();
    if (!this.#modified(changes)) {
      if (this.#regenerate) {
        // A new, empty session is not worth a cookie; the old id must still stop working.
        await ctx.delete(this.#regenerate.oldKey);
        this.#regenerate = undefined;
        return [ctx.cookie.clear(this.#secure)];
      }
      if (!this.#loaded) return cleared;
      // update() may have written already: its cookie, if due, goes out now.
      return this.#cookieDue ? this.#cookieLine(this.#loaded) : this.#maybeTouch(this.#loaded);
    }
    const saved = await this.#save(changes);
    if (!saved || !this.#cookieDue) return [];
    return this.#cookieLine(saved);
  }

  #cookieLine(loaded: Loaded): string[] {
    return [this.#writeCookie(loaded.expiresAt - this.#ctx.now())];
  }

  #writeCookie(maxAgeMs: number): string {
    return this.#ctx.cookie.write(this.#id!, maxAgeMs, this.#secure, this.#persistent());
  }

  /** Whether this session's cookie carries a Max-Age. */
  #persistent(): boolean {
    return this.#lifetime === undefined ? this.#ctx.cookie.persistent : this.#lifetime !== null;
  }

  /** This session's idle window. */
  #idleMs(): number {
    return typeof this.#lifetime === 'number' ? this.#lifetime : this.#ctx.idleMs;
  }

  /** Whether the response has something to write. */
  #modified(changes: Changes): boolean {
    const ownerChanged = this.#owner !== undefined && this.#owner !== this.#loaded?.owner;
    // A lifetime alone does not make a new session worth storing.
    const lifetimeChanged = this.#lifetimeChanged && this.#loaded !== undefined;
    return this.#hasData(changes) || ownerChanged || lifetimeChanged;
  }

  #hasData(changes: Changes): boolean {
    return changes.changed.size > 0 || changes.removed.length > 0;
  }

  // -------------------------------------------------------------------------------------------
  // Controls

  async #update(fn: (draft: Partial<T>) => void | Promise<void>): Promise<void> {
    this.#assertWritable('update()');
    const codec = this.#ctx.codec;
    const { changed, removed } = this.#changes();
    const loadedData = this.#parseSnapshot();
    // Each key's serialization as this call writes it, to spot what the handler changes meanwhile.
    const asWritten = new Map(this.#snapshot);
    for (const [key, text] of changed) asWritten.set(key, text);
    for (const key of removed) asWritten.delete(key);
    // The function runs again on the newest stored data after each conflict.
    const written = await this.#writeUntilLanded(async (newest) => {
      const draft: Record<string, unknown> = Object.assign(
        Object.create(null),
        newest ?? loadedData,
      );
      for (const [key, text] of changed) draft[key] = codec.parseValue(text);
      for (const key of removed) delete draft[key];
      await fn(draft as Partial<T>);
      return draft;
    });
    if (written) {
      this.#adoptKeepingLater(written, asWritten);
      return;
    }
    this.#lost();
    throw new SessionDestroyedError({ operation: 'update()' });
  }

  /**
   * Adopt what `update()`/`save()` wrote, keeping the changes the handler made to `req.session`
   * while the write was in flight (`req.session.save(); req.session.x = 1`): they stay pending
   * for the commit instead of being overwritten.
   */
  #adoptKeepingLater(written: Record<string, unknown>, asWritten: Map<string, string>): void {
    const codec = this.#ctx.codec;
    const later = new Map<string, unknown>();
    for (const key of Object.keys(this.#data)) {
      const value = this.#data[key];
      if (codec.stringifyValue(value) !== asWritten.get(key)) later.set(key, value);
    }
    const gone = [...asWritten.keys()].filter((key) => this.#data[key] === undefined);
    this.#adopt(written, this.#loaded!);
    for (const [key, value] of later) this.#data[key] = value;
    for (const key of gone) delete this.#data[key];
  }

  /** @param replace hand out a new session object (express-session's callback style) */
  async #regenerateNow(options: RegenerateOptions = {}, replace = false): Promise<void> {
    this.#assertNotSealed('regenerate()');
    const keep = options.keepData === true && !this.#destroyed;
    const loaded = this.#loaded;
    if (loaded && !this.#regenerate) {
      this.#regenerate = { oldKey: loaded.key, owner: keep ? loaded.owner : undefined };
    } else if (this.#regenerate && !keep) {
      this.#regenerate.owner = undefined;
    }
    this.#destroyed = false;
    this.#loaded = undefined;
    this.#id = undefined;
    this.#pendingId = undefined;
    if (!keep) this.#owner = undefined;
    if (this.#replace && replace) {
      // The old object keeps the old data for whoever holds it; the request gets a new one.
      const old = this.#data;
      this.#data = Object.create(null);
      if (keep) Object.assign(this.#data, old);
      this.session = this.#proxy();
      this.#cookieView = undefined;
      this.#replace(this.session);
    } else if (!keep) {
      for (const key of Object.keys(this.#data)) delete this.#data[key];
    }
    if (!keep) {
      this.#lifetime = undefined;
      this.#lifetimeChanged = false;
    }
    // Everything kept counts as changed, so the new entry gets all of it.
    this.#snapshot.clear();
  }

  async #destroyNow(): Promise<void> {
    this.#assertNotSealed('destroy()');
    const keys = [this.#loaded?.key, this.#regenerate?.oldKey].filter((k) => k !== undefined);
    for (const key of new Set(keys)) await this.#ctx.delete(key);
    this.#ctx.emit?.({ type: 'destroy', count: keys.length });
    this.#forget();
  }

  async #reloadNow(): Promise<void> {
    this.#assertWritable('reload()');
    const loaded = this.#loaded;
    if (!loaded) {
      // Never stored: what it holds is this request's unsaved changes, which reload drops.
      for (const key of Object.keys(this.#data)) delete this.#data[key];
      this.#snapshot.clear();
      return;
    }
    const entry = await this.#ctx.get(loaded.key);
    const record = entry && (await this.#decode(entry, loaded.key));
    if (!entry || !record || entry.expiresAt <= this.#ctx.now()) {
      this.#lost();
      throw new SessionDestroyedError({ operation: 'reload()' });
    }
    this.#lifetime = record.lifetimeMs;
    this.#lifetimeChanged = false;
    this.#adopt(record.data, fromEntry(loaded.key, entry, record));
  }

  /** `cookie.maxAge = ms` (or null): this session's own lifetime from now on. */
  #setLifetime(ms: number | null): void {
    this.#assertWritable('change cookie.maxAge');
    if (ms !== null && !(typeof ms === 'number' && ms > 0 && Number.isFinite(ms))) {
      throw new InvalidOptionError({
        option: 'session.cookie.maxAge',
        reason: `expected a positive number of ms or null, got ${ms}`,
      });
    }
    if (ms === this.#lifetime) return;
    this.#lifetime = ms;
    this.#lifetimeChanged = true;
  }

  /** Ms until the cookie expires, as `cookie.maxAge` reads it. */
  #remainingMs(): number | null {
    if (!this.#persistent()) return null;
    const ctx = this.#ctx;
    const loaded = this.#loaded;
    if (loaded && !this.#lifetimeChanged) return Math.max(0, loaded.expiresAt - ctx.now());
    return ctx.ttlFor(loaded?.createdAt ?? ctx.now(), this.#idleMs());
  }

  #cookie(): SessionCookieView {
    this.#cookieView ??= createCookieView(
      {
        remainingMs: () => this.#remainingMs(),
        originalMaxAge: () => (this.#persistent() ? this.#idleMs() : null),
        setLifetime: (ms) => this.#setLifetime(ms),
        now: this.#ctx.now,
      },
      this.#ctx.cookie,
      this.#secure,
    );
    return this.#cookieView;
  }

  #setOwner(owner: string): void {
    this.#assertWritable('setOwner()');
    if (typeof owner !== 'string' || !OWNER_PATTERN.test(owner)) {
      throw new InvalidOptionError({
        option: 'owner',
        reason: 'owners are 1 to 200 printable ASCII characters without blanks',
      });
    }
    this.#owner = owner;
  }

  async #destroyAll(options: { exceptCurrent?: boolean } = {}): Promise<number> {
    this.#assertNotSealed('destroyAll()');
    const owner = this.#owner ?? this.#loaded?.owner;
    if (owner === undefined) return 0;
    const keep = options.exceptCurrent && this.#loaded ? [this.#loaded.key] : [];
    const count = await this.#ctx.deleteOwned(owner, keep);
    this.#ctx.emit?.({ type: 'destroy', count });
    if (!options.exceptCurrent) this.#forget();
    return count;
  }

  // -------------------------------------------------------------------------------------------
  // Compatibility: what express-session's and @fastify/session's APIs need from the core
  // (`save()`, `touch()`, the id), and the one-time migration of an old session (migrate.ts).

  /** The session id (the cookie's value), or undefined while no store entry backs the session. */
  get storedId(): string | undefined {
    return this.#id;
  }

  /**
   * Write what changed now rather than at commit (`save()`): the same conditional write, changes
   * re-applied on a conflict, then the written data become the baseline. A new or regenerated
   * session gets its entry (and id) here; its cookie still goes out at commit.
   */
  async saveNow(): Promise<void> {
    this.#assertWritable('save()');
    if (this.#loaded && !this.#regenerate && !this.#modified(this.#changes())) return;
    await this.#update(() => {});
  }

  /** Extend the session's expiry at commit even when the touch throttle would skip it (`touch()`). */
  touchNow(): void {
    this.#assertWritable('touch()');
    this.#touchDue = true;
  }

  /** A Set-Cookie line to send beside the session's own at commit (clearing an old cookie). */
  alsoSend(line: string): void {
    this.#assertNotSealed('alsoSend()');
    this.#extraCookies ??= [];
    this.#extraCookies.push(line);
  }

  /**
   * The session under `id`, which a migration derived from an old session's id: read it, or else
   * create it from `source()` (the old session's data) if no other request did meanwhile; a
   * create that loses to another process reads the winner's session instead of forking it.
   * Undefined when there is nothing to migrate, or when the session was destroyed since (its
   * tombstone stops it coming back). The cookie is sent at commit.
   */
  static async migrated<T extends SessionData>(
    ctx: SessionContext<T>,
    id: string,
    https: boolean,
    source: () => Promise<{ data: Record<string, unknown>; owner: string | undefined } | undefined>,
  ): Promise<RequestSession<T> | undefined> {
    const key = storeKeyOf(id);
    const session = new RequestSession(ctx, ctx.cookie.isSecure(https));
    session.#id = id;
    let entry = await ctx.get(key);
    if (!entry) {
      let old = await source();
      if (old && ctx.schema) {
        // Old data meet the schema like any loaded session (onInvalid: 'discard' drops them).
        try {
          old = { ...old, data: await session.#validate(old.data) };
        } catch (err) {
          if (!(ctx.discardInvalid && err instanceof DroveError)) throw err;
          return undefined;
        }
      }
      if (old) {
        const createdAt = ctx.now();
        const ttlMs = Math.ceil(ctx.ttlFor(createdAt));
        const record = { createdAt, data: old.data, cookieExpiresAt: createdAt + ttlMs };
        const bytes = session.#encode(record, key);
        const result = await ctx.create(key, bytes, { ttlMs, owner: old.owner });
        if (result.ok) {
          ctx.emit?.({ type: 'save', bytes: bytes.length, created: true });
          session.#cookieDue = true;
          session.#adopt(old.data, {
            key,
            version: result.version,
            expiresAt: result.expiresAt,
            owner: old.owner,
            createdAt,
            cookieExpiresAt: record.cookieExpiresAt,
          });
          return session;
        }
        if (result.reason === 'gone') return undefined;
      }
      // Another process created it meanwhile (or migrated and removed the old one first).
      entry = await ctx.get(key);
      if (!entry) return undefined;
    }
    const record = await session.#decode(entry, key);
    session.#cookieDue = true;
    session.#adopt(record.data, fromEntry(key, entry, record));
    return session;
  }

  // -------------------------------------------------------------------------------------------
  // Saving

  /** Write the changed keys, re-applying them on the newest version after each conflict. */
  async #save(changes: Changes): Promise<Loaded | undefined> {
    const written = await this.#writeUntilLanded((newest) => {
      if (!newest) return this.#data;
      for (const key of changes.changed.keys()) newest[key] = this.#data[key];
      for (const key of changes.removed) delete newest[key];
      return newest;
    });
    if (written) return this.#loaded;
    // Destroyed (or expired) while this request ran: a stale request must not bring it back.
    this.#lost();
    return undefined;
  }

  /**
   * Conditional writes of `build(newest)` until one lands: `newest` is undefined on the first
   * attempt, and after each conflict (backoff, then a reload) the newest stored data. Returns what
   * was written, or undefined when the session is gone (destroyed or expired meanwhile).
   */
  async #writeUntilLanded(
    build: (
      newest: Record<string, unknown> | undefined,
    ) => Record<string, unknown> | Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown> | undefined> {
    const ctx = this.#ctx;
    let loaded = this.#loaded;
    let newest: Record<string, unknown> | undefined;
    let backoff: ConflictBackoff | undefined;
    try {
      for (;;) {
        const data = await build(newest);
        const result = await this.#write(data, loaded);
        if (result.ok) return data;
        if (result.reason !== 'conflict') return undefined;
        backoff ??= new ConflictBackoff(ctx.conflictRetry, ctx.retryLanes, loaded!.key);
        ctx.emit?.({ type: 'conflict', attempt: backoff.conflicts + 1 });
        await backoff.afterConflict();
        const reloaded = await this.#reload(loaded!);
        if (!reloaded) return undefined;
        ({ loaded, data: newest } = reloaded);
      }
    } finally {
      backoff?.done();
    }
  }

  /**
   * One conditional write: `update` on the version read, or `create` under a new id for a new or
   * regenerated session (the old entry is deleted only once the new one exists).
   */
  async #write(data: Record<string, unknown>, loaded: Loaded | undefined): Promise<WriteResult> {
    const ctx = this.#ctx;
    const createdAt = loaded?.createdAt ?? ctx.now();
    const idleMs = this.#idleMs();
    const ttlMs = Math.ceil(ctx.ttlFor(createdAt, idleMs));
    const lifetimeMs = this.#lifetime;
    if (loaded && !this.#regenerate) {
      // The cookie carries a Max-Age: re-send it once the expiry moved by the touch share past
      // the last one sent (as a touch would), not on every write. A browser-session cookie
      // never needs re-sending.
      const expiresAt = ctx.now() + ttlMs;
      const sent = loaded.cookieExpiresAt;
      // A new lifetime or touch() always sends it.
      const due =
        (this.#persistent() || this.#lifetimeChanged) &&
        (sent === undefined ||
          this.#lifetimeChanged ||
          this.#touchDue ||
          expiresAt - sent >= ctx.touchAfter * idleMs);
      const cookieExpiresAt = due ? expiresAt : sent;
      const bytes = this.#encode({ createdAt, data, cookieExpiresAt, lifetimeMs }, loaded.key);
      const owner = this.#owner;
      const result = await ctx.update(loaded.key, bytes, { version: loaded.version, ttlMs, owner });
      if (result.ok) {
        this.#loaded = {
          ...loaded,
          version: result.version,
          expiresAt: result.expiresAt,
          cookieExpiresAt,
        };
        if (owner !== undefined) this.#loaded.owner = owner;
        if (due) this.#cookieDue = true;
        this.#lifetimeChanged = false;
      }
      return result;
    }
    const owner = this.#owner ?? this.#regenerate?.owner;
    for (;;) {
      // The id a handler may have read already (`req.sessionID`), then fresh ones.
      const id = this.#pendingId ?? newSessionId();
      this.#pendingId = undefined;
      const key = storeKeyOf(id);
      const cookieExpiresAt = ctx.now() + ttlMs;
      const bytes = this.#encode({ createdAt, data, cookieExpiresAt, lifetimeMs }, key);
      const result = await ctx.create(key, bytes, { ttlMs, owner });
      // 'exists'/'gone' on 256 fresh random bits means a broken RNG or store; try another id.
      if (!result.ok) continue;
      ctx.emit?.({ type: 'save', bytes: bytes.length, created: true });
      this.#id = id;
      this.#cookieDue = true;
      this.#lifetimeChanged = false;
      this.#loaded = {
        key,
        version: result.version,
        expiresAt: result.expiresAt,
        owner,
        createdAt,
        cookieExpiresAt,
      };
      if (this.#regenerate) {
        await ctx.delete(this.#regenerate.oldKey);
        this.#regenerate = undefined;
      }
      return result;
    }
  }

  #encode(record: StoredRecord, key: string): Buffer {
    const bytes = this.#ctx.codec.encode(record, key);
    if (bytes.length > this.#ctx.maxSize) {
      throw new SessionTooLargeError({ size: bytes.length, limit: this.#ctx.maxSize });
    }
    if (this.#loaded && !this.#regenerate) {
      this.#ctx.emit?.({ type: 'save', bytes: bytes.length, created: false });
    }
    return bytes;
  }

  /** The newest stored version after a conflict, or undefined when it is gone. */
  async #reload(
    loaded: Loaded,
  ): Promise<{ loaded: Loaded; data: Record<string, unknown> } | undefined> {
    const entry = await this.#ctx.get(loaded.key);
    if (!entry) return undefined;
    const record = await this.#decode(entry, loaded.key);
    const next = fromEntry(loaded.key, entry, record);
    return { loaded: next, data: Object.assign(Object.create(null), record.data) };
  }

  async #maybeTouch(loaded: Loaded): Promise<string[]> {
    const ctx = this.#ctx;
    const now = ctx.now();
    const idleMs = this.#idleMs();
    const ttl = ctx.ttlFor(loaded.createdAt, idleMs);
    const remaining = loaded.expiresAt - now;
    // touch() asked for it: always, one round trip. Otherwise only once the throttle allows.
    const due = ttl > remaining && ttl - remaining >= ctx.touchAfter * idleMs;
    if (!this.#touchDue && !due) return [];
    const expiresAt = await ctx.touch(loaded.key, Math.ceil(ttl));
    ctx.emit?.({ type: 'touch' });
    // Gone meanwhile (destroyed elsewhere): leave the cookie alone, it unlocks nothing.
    if (expiresAt === undefined) return [];
    loaded.expiresAt = expiresAt;
    return [this.#writeCookie(expiresAt - now)];
  }

  async #decode(entry: StoreEntry, key: string): Promise<StoredRecord> {
    const record = this.#ctx.codec.decode(entry.value, key);
    if (!this.#ctx.schema) return record;
    return { ...record, data: await this.#validate(record.data) };
  }

  /** The schema's output for `data`, or DROVE_ERR_SESSION_INVALID_DATA. */
  async #validate(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    const schema = this.#ctx.schema;
    if (!schema) return data;
    const result = await schema['~standard'].validate(data);
    if (result.issues) {
      const issue = result.issues[0];
      const path = issue?.path?.map((p) => (typeof p === 'object' ? p.key : p)).join('.');
      throw new SessionInvalidDataError({ reason: `${path ? `${path}: ` : ''}${issue?.message}` });
    }
    return result.value as Record<string, unknown>;
  }

  // -------------------------------------------------------------------------------------------
  // State

  /** Make `data` the session's data and its serializations the new baseline. */
  #adopt(data: Record<string, unknown>, loaded: Loaded): void {
    this.#loaded = loaded;
    this.#snapshot.clear();
    for (const key of Object.keys(this.#data)) delete this.#data[key];
    for (const key of Object.keys(data)) {
      const value = data[key];
      const text = this.#ctx.codec.stringifyValue(value);
      if (text === undefined) continue;
      this.#data[key] = value;
      this.#snapshot.set(key, text);
    }
  }

  #parseSnapshot(): Record<string, unknown> {
    const data: Record<string, unknown> = Object.create(null);
    for (const [key, text] of this.#snapshot) data[key] = this.#ctx.codec.parseValue(text);
    return data;
  }

  /** Keys whose serialization differs from the baseline (so nested mutations count). */
  #changes(): Changes {
    const changed = new Map<string, string>();
    const removed: string[] = [];
    const codec = this.#ctx.codec;
    for (const key of Object.keys(this.#data)) {
      const text = codec.stringifyValue(this.#data[key]);
      if (text !== undefined && text !== this.#snapshot.get(key)) changed.set(key, text);
    }
    for (const key of this.#snapshot.keys()) {
      if (this.#data[key] === undefined) removed.push(key);
    }
    return { changed, removed };
  }

  /** The session no longer exists: empty, and the cookie gets cleared. */
  #forget(): void {
    this.#destroyed = true;
    this.#clearCookie = true;
    this.#loaded = undefined;
    this.#regenerate = undefined;
    this.#owner = undefined;
    this.#snapshot.clear();
    for (const key of Object.keys(this.#data)) delete this.#data[key];
  }

  /** Somebody else destroyed it meanwhile. Unlike `#forget`, the cookie is left as is. */
  #lost(): void {
    this.#ctx.emit?.({ type: 'destroy', count: 0 });
    this.#forget();
    this.#clearCookie = false;
  }

  #assertNotSealed(operation: string): void {
    if (this.#sealed) throw new SessionCommittedError({ operation });
  }

  #assertWritable(operation: string): void {
    this.#assertNotSealed(operation);
    if (this.#destroyed) throw new SessionDestroyedError({ operation });
  }

  #guard(target: Record<string, unknown>, prop: string | symbol): void {
    const name = String(prop);
    if (target !== this.#data)
      throw new SessionReplacedError({ operation: `change ${JSON.stringify(name)}` });
    this.#assertWritable(`change ${JSON.stringify(name)}`);
    if (CONTROL_NAMES.has(name)) {
      throw new InvalidOptionError({ option: `session.${name}`, reason: 'a reserved name' });
    }
  }

  #control(prop: string): unknown {
    if (prop === 'isNew') return this.#loaded === undefined;
    if (prop === 'id') return this.id;
    if (prop === 'cookie') return this.#cookie();
    this.#controls ??= {
      update: (fn, cb) => this.#settle(() => this.#update(fn as (draft: Partial<T>) => void), cb),
      // The callback style is express-session's: there (and so in Passport) req.session is a new
      // object afterwards. `await regenerate()` keeps drove's: the same object, emptied.
      regenerate: (options, cb) =>
        typeof options === 'function'
          ? this.#settle(() => this.#regenerateNow({}, true), options)
          : this.#settle(() => this.#regenerateNow(options, cb !== undefined), cb),
      destroy: (cb) => this.#settle(() => this.#destroyNow(), cb),
      save: (cb) => this.#settle(() => this.saveNow(), cb),
      reload: (cb) => this.#settle(() => this.#reloadNow(), cb),
      // Synchronous like express-session's touch(), which apps call without awaiting.
      touch: (cb) =>
        this.#settle(() => {
          this.touchNow();
          return Promise.resolve();
        }, cb),
      setOwner: (owner) => this.#setOwner(owner),
      destroyAll: (options, cb) =>
        typeof options === 'function'
          ? this.#settle(() => this.#destroyAll(), options)
          : this.#settle(() => this.#destroyAll(options), cb),
    };
    return this.#controls[prop as keyof Controls];
  }

  /**
   * Run a control: a promise for `await`, or, given a callback (express-session, Passport), the
   * outcome handed to it and a promise that never rejects. A 503 leaves with the adapter's
   * Retry-After in `headers`, for the framework's own error handler.
   */
  #settle<R>(run: () => Promise<R>, callback: SessionCallback | undefined): Promise<R> {
    if (callback !== undefined && typeof callback !== 'function') {
      throw new InvalidOptionError({ option: 'callback', reason: 'expected a function' });
    }
    const retryAfter = String(this.#ctx.retryAfterSeconds);
    this.#inFlight ??= new Set();
    const inFlight = this.#inFlight;
    const pending = run().then(
      (value) => {
        inFlight.delete(pending);
        return value;
      },
      (err: unknown) => {
        inFlight.delete(pending);
        if (err instanceof DroveError && err.statusCode === 503) {
          err.headers = { ...err.headers, 'retry-after': retryAfter };
        }
        throw err;
      },
    );
    inFlight.add(pending);
    if (!callback) {
      return TrackedPromise.track(pending, (err, promise) => this.#missed.push({ err, promise }));
    }
    return pending.then(
      (value) => {
        callback();
        return value;
      },
      (err: unknown) => {
        callback(err);
        return undefined as R;
      },
    );
  }

  /**
   * The Proxy handler: its traps live on the prototype and reach the session through `owner`, so
   * a request allocates one small object here instead of a handler full of closures.
   */
  static readonly #Traps = class Traps implements ProxyHandler<Record<string, unknown>> {
    constructor(readonly owner: RequestSession<SessionData>) {}
    get(target: Record<string, unknown>, prop: string | symbol): unknown {
      if (typeof prop === 'string' && CONTROL_NAMES.has(prop)) return this.owner.#control(prop);
      return target[prop as string];
    }
    set(target: Record<string, unknown>, prop: string | symbol, value: unknown): boolean {
      this.owner.#guard(target, prop);
      target[prop as string] = value;
      return true;
    }
    defineProperty(
      target: Record<string, unknown>,
      prop: string | symbol,
      descriptor: PropertyDescriptor,
    ): boolean {
      this.owner.#guard(target, prop);
      return Reflect.defineProperty(target, prop, descriptor);
    }
    deleteProperty(target: Record<string, unknown>, prop: string | symbol): boolean {
      this.owner.#guard(target, prop);
      return delete target[prop as string];
    }
  };
}

interface Changes {
  changed: Map<string, string>;
  removed: string[];
}

function fromEntry(key: string, entry: StoreEntry, record: StoredRecord): Loaded {
  return {
    key,
    version: entry.version,
    expiresAt: entry.expiresAt,
    owner: entry.owner,
    createdAt: record.createdAt,
    cookieExpiresAt: record.cookieExpiresAt,
  };
}
