export * from './config.js';
export * from './kv-cache.js';
export * from './weights.js';
export * from './model.js';
export * from './load.js';
export * from './sampler.js';
export * from './session.js';
export * from './chat.js';
