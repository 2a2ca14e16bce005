export { spawnTs } from './child-process.js';
export type { SpawnedProcess } from './child-process.js';
