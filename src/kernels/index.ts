import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference.js';
import { WasmBackend } from './wasm-backend.js';

export * from './backend.js';
export { ReferenceBackend } from './reference.js';
export { WasmBackend, defaultThreads, type WasmBackendOptions } from './wasm-backend.js';

export type BackendName = 'wasm' | 'reference';

/** The WASM SIMD backend unless told otherwise; threads default to EFFML_THREADS or the core count. */
export async function createBackend(
  options: { backend?: BackendName; threads?: number } = {},
): Promise<Backend> {
  return options.backend === 'reference'
    ? new ReferenceBackend()
    : WasmBackend.create({ threads: options.threads });
}
