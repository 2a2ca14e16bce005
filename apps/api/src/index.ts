export { createApp } from './app.js';
export type { ApiDeps } from './deps.js';
export { startApi } from './start-api.js';
export type { ApiProcess } from './start-api.js';
