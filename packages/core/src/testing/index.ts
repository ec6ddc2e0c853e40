/**
 * `@leadpipe/core/testing`: the conformance suites every adapter runs, and builders of valid
 * leadpipe values. Each suite is a function of a factory that registers vitest tests (vitest is an
 * optional peer dependency, needed only here).
 *
 * @example
 * ```ts
 * import { storeConformance } from '@leadpipe/core/testing';
 * import { MyStore } from '../src/my-store.js';
 *
 * storeConformance('my-store', async () => {
 *   const store = new MyStore();
 *   return { store, cleanup: () => store.close() };
 * }, { skip: { 'concurrent claimers never get the same entry': 'single-connection test database' } });
 * ```
 * @module
 */
export { storeConformance } from './store.js';
export type { StoreFixture } from './store.js';
export { queueConformance } from './queue.js';
export type { QueueFixture } from './queue.js';
export { schedulerConformance } from './scheduler.js';
export type { SchedulerFixture, SchedulerFixtureContext } from './scheduler.js';
export { uniqueNamespace } from './suite.js';
export type { ConformanceOptions } from './suite.js';
export {
  BUILDER_EPOCH,
  makeAudit,
  makeBatch,
  makeEffect,
  makeEvent,
  makeLead,
  makeNotificationEffect,
  makeProfile,
  snapshotOf,
} from './builders.js';
