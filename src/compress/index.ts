export * from './huffman.js';
export * from './kmeans.js';
export * from './relative-index.js';
export * from './prune.js';
export * from './weight-sharing.js';
export * from './codec.js';
export * from './deep-compression.js';
export * from './load.js';
