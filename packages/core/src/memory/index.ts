/**
 * The embedded default implementation of every adapter contract: clock, logger, store, queue and
 * scheduler, all in this process. Each passes the matching suite of `@leadpipe/core/testing`.
 * @module
 */
export { systemClock, ManualClock } from './clock.js';
export { silentLogger, consoleLogger } from './logger.js';
export type { LogLevel, ConsoleLoggerOptions } from './logger.js';
export { MemoryStore } from './store.js';
export { MemoryQueue } from './queue.js';
export type { MemoryQueueOptions } from './queue.js';
export { MemoryScheduler } from './scheduler.js';
export type { MemorySchedulerOptions } from './scheduler.js';
