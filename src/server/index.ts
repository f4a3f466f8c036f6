export { EffmlServer, type ServedModel, type ServerOptions } from './server.js';
export { ApiError } from './api.js';
export { SlotPool } from './slots.js';
