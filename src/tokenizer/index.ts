export * from './tokenizer.js';
export * from './sentencepiece-bpe.js';
export * from './hf-tokenizer.js';
export * from './load.js';
export * from './export.js';
