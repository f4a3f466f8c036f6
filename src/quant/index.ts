export * from './rtn.js';
export * from './pack-int4.js';
export * from './calibrate.js';
export * from './awq.js';
export * from './quantize-model.js';
export * from './save.js';
export * from './quantize.js';
export * from './autoawq.js';
