/** A kernel worker thread: instantiates the kernels over the shared heap, then runs its slice of each posted job. */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from './kernel-exports.js';
import { CTRL, EXIT, runSlice, waitWhileEqual } from './parallel.js';

const { module, memory, control, index, threads } = workerData as {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  index: number;
  threads: number;
};
const kernels = instantiateKernels(module, memory);
const ctrl = new Int32Array(control);
parentPort?.postMessage('ready');

let seen = Atomics.load(ctrl, CTRL.GEN);
for (;;) {
  waitWhileEqual(ctrl, CTRL.GEN, seen);
  seen = Atomics.load(ctrl, CTRL.GEN);
  if (ctrl[CTRL.OP] === EXIT) break;
  runSlice(kernels, ctrl, index, threads);
  if (Atomics.add(ctrl, CTRL.DONE, 1) + 1 === threads - 1) Atomics.notify(ctrl, CTRL.DONE);
}
