export * from './perplexity.js';
export * from './speed.js';
