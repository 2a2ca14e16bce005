export { spawnTs } from './child-process.js';
export type { SpawnedProcess } from './child-process.js';
export { deletePrefix, onRedisCluster, scanPrefix, testPrefix, testRedis, testRedisEnv, testRedisTarget, testRedisUrl } from './redis.js';
export { SHIPPED_ALIASES, startStack, stackEnv } from './stack.js';
export type { FleetServer, Stack, StackOptions, StatusDocument } from './stack.js';
