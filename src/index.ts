/** effml's library API: everything the CLI uses, for programs to import. */
export { UserError } from './errors.js';
export * from './tensor/index.js';
export * from './formats/index.js';
export * from './kernels/index.js';
export * from './tokenizer/index.js';
export * from './llm/index.js';
export * from './eval/index.js';
export * from './report/index.js';
export * from './quant/index.js';
export * as nn from './nn/index.js';
export * from './compress/index.js';
export * from './sparse/index.js';
export * from './server/index.js';
