/**
 * drove: run a Node.js web app as a herd of stateless, share-nothing processes.
 *
 * Each feature has its own subpath (`drove/stores`, `drove/session/express`, `drove/scratch`,
 * `drove/assets`, `drove/process`); this root re-exports only the error catalogue.
 * @module
 */
export * from './errors.js';
