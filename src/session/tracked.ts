/**
 * A promise that knows whether anyone is listening. express-session apps call `save()`,
 * `destroy()` or `regenerate()` bare (`req.session.destroy(); res.redirect('/')`): there an error
 * was dropped; with a plain promise it would be an unhandled rejection that ends the process. A
 * session method's promise is tracked instead: if it fails while nobody awaits it (nor calls
 * `then`/`catch`), the session remembers the error and the response answers it.
 */
export class TrackedPromise<T> extends Promise<T> {
  #observed = false;

  // Derived promises (from then/catch) are plain ones: only the one handed out is tracked.
  static override get [Symbol.species]() {
    return Promise;
  }

  /** Whether `then` (and so `await`, `catch`, `finally`) was called on it. */
  get observed(): boolean {
    return this.#observed;
  }

  // biome-ignore lint/suspicious/noThenProperty: observing `then` is the point of this class.
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#observed = true;
    return super.then(onFulfilled, onRejected);
  }

  /**
   * `pending` as a tracked promise; `unobserved(err)` runs when it fails with nobody listening,
   * and the rejection itself never counts as unhandled.
   */
  static track<T>(
    pending: Promise<T>,
    unobserved: (err: unknown, promise: TrackedPromise<T>) => void,
  ): TrackedPromise<T> {
    const tracked = new TrackedPromise<T>((resolve, reject) => {
      pending.then(resolve, reject);
    });
    // Promise.prototype.then directly, so that this listener does not count as observing.
    Promise.prototype.then.call(tracked, undefined, (err: unknown) => {
      if (!tracked.#observed) unobserved(err, tracked);
    });
    return tracked;
  }
}
