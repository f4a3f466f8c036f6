export * from './dtype.js';
export * from './half.js';
export * from './blocks.js';
export * from './tensor.js';
export * from './random.js';
