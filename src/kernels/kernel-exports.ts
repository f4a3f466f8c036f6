import { type KernelExports, checkKernels } from './ops.js';

/** The kernel module over `memory`, checked against its description (ops.ts) before any use. */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  checkKernels(exports);
  return exports as unknown as KernelExports;
}
