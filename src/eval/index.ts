export * from './perplexity.js';
export * from './speed.js';
export * from './stream-perplexity.js';
export * from './stream-policies.js';
export * from './stream-report.js';
