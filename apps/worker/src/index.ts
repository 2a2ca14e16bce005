export { startWorkers } from './start-workers.js';
export type { WorkerProcess } from './start-workers.js';
