export { spawnTs } from './child-process.js';
export type { SpawnedProcess } from './child-process.js';
export { deletePrefix, testPrefix, testRedisUrl } from './redis.js';
export { SHIPPED_ALIASES, startStack, stackEnv } from './stack.js';
export type { Stack, StackOptions, StatusDocument } from './stack.js';
