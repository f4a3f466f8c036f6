export * from './perplexity.js';
export * from './speed.js';
export * from './stream-perplexity.js';
