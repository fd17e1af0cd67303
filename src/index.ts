/**
 * drove: run a Node.js web app as a herd of stateless, share-nothing processes.
 *
 * Each feature has its own subpath (`drovejs/stores`, `drovejs/session/express`, `drovejs/scratch`,
 * `drovejs/assets`, `drovejs/process`); this root re-exports only the error catalogue.
 * @module
 */
export * from './errors.js';
