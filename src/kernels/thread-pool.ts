import { Worker } from 'node:worker_threads';
import type { KernelExports } from './ops.js';
import { CTRL, CTRL_INTS, EXIT, postJob, runSlice, waitWhileEqual } from './parallel.js';

/**
 * Worker threads sharing one WASM memory. The calling thread is thread 0 and works too; a job
 * returns when every thread has finished its slice, so kernels stay synchronous for the caller.
 */
export class ThreadPool {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
  private workers: Worker[] = [];

  private constructor(
    private readonly kernels: KernelExports,
    readonly threads: number,
  ) {}

  static async create(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    kernels: KernelExports,
    threads: number,
  ): Promise<ThreadPool> {
    const pool = new ThreadPool(kernels, threads);
    const url = new URL('./worker.js', import.meta.url);
    pool.workers = Array.from(
      { length: threads - 1 },
      (_, i) =>
        new Worker(url, { workerData: { module, memory, control: pool.ctrl.buffer, index: i + 1, threads } }),
    );
    await Promise.all(
      pool.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    // Idle workers sleep in Atomics.wait; they must not keep the process alive.
    for (const w of pool.workers) w.unref();
    return pool;
  }

  /** Runs split op `op` (its index in SPLIT_OPS) over `rows` rows across all threads; see postJob. */
  run(op: number, rows: number, stride: number, args: readonly number[]): void {
    const ctrl = this.ctrl;
    postJob(ctrl, op, rows, stride, args);
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.add(ctrl, CTRL.GEN, 1);
    Atomics.notify(ctrl, CTRL.GEN);
    runSlice(this.kernels, ctrl, 0, this.threads);
    for (
      let done = Atomics.load(ctrl, CTRL.DONE);
      done !== this.threads - 1;
      done = Atomics.load(ctrl, CTRL.DONE)
    )
      waitWhileEqual(ctrl, CTRL.DONE, done);
  }

  dispose(): void {
    if (this.workers.length === 0) return;
    this.ctrl[CTRL.OP] = EXIT;
    Atomics.add(this.ctrl, CTRL.GEN, 1);
    Atomics.notify(this.ctrl, CTRL.GEN);
    this.workers = [];
  }
}
