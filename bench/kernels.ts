/**
 * Kernel benchmark: matmul / matvec at LLM shapes on the reference backend, WASM on one thread and
 * WASM on every thread, all in this run, plus the core's read bandwidth from a WASM streaming loop
 * as the yardstick for matvec (which streams its weights once per call).
 */
import { ReferenceBackend, WasmBackend, defaultThreads } from '../src/kernels/index.js';
import { table } from '../src/cli/table.js';
import { secondsPerCall } from './timing.js';

/** [M tokens, K inputs, N outputs] */
const SHAPES: [number, number, number][] = [
  [1, 576, 1536],
  [1, 2048, 5632],
  [128, 2048, 2048],
  [512, 576, 576],
];
const STREAM_BYTES = 256 << 20;

export interface KernelRow {
  shape: string;
  op: 'matvec' | 'matmul';
  referenceGflops: number;
  wasm1Gflops: number;
  wasmAllGflops: number;
  wasm1VsReference: number;
  threadsVs1: number;
  /** matvec only: weight bytes per second on one thread, and as a fraction of the read bandwidth */
  wasm1WeightGBs: number | null;
  wasmAllWeightGBs: number | null;
  fractionOfReadBandwidth: number | null;
}

export interface KernelReport {
  threads: number;
  readBandwidthGBs: number;
  rows: KernelRow[];
}

export async function benchKernels(log: (line: string) => void): Promise<KernelReport> {
  const threads = defaultThreads();
  const ref = new ReferenceBackend();
  const one = await WasmBackend.create({ threads: 1 });
  const all = await WasmBackend.create({ threads });

  const stream = one.allocF32(STREAM_BYTES / 4);
  stream.fill(1);
  const readBandwidthGBs = STREAM_BYTES / secondsPerCall(() => one.streamSum(stream), 1) / 1e9;
  log(
    `read bandwidth (WASM streaming loop, 1 thread, ${STREAM_BYTES >> 20} MiB): ${readBandwidthGBs.toFixed(1)} GB/s`,
  );

  const rows: KernelRow[] = [];
  for (const [M, K, N] of SHAPES) {
    const op = M === 1 ? 'matvec' : 'matmul';
    const flops = 2 * M * N * K;
    const a = Float32Array.from({ length: M * K }, () => Math.random() - 0.5);
    const w = Float32Array.from({ length: N * K }, () => Math.random() - 0.5);
    const timeOn = (backend: ReferenceBackend, budget: number) => {
      const [ha, hw, ho] = [backend.allocF32(M * K), backend.allocF32(N * K), backend.allocF32(M * N)];
      ha.set(a);
      hw.set(w);
      return secondsPerCall(
        () => (M === 1 ? backend.matvec(ho, hw, ha, N, K) : backend.matmul(ho, ha, hw, M, N, K)),
        budget,
      );
    };
    const tRef = timeOn(ref, 1);
    const t1 = timeOn(one, 1);
    const tAll = timeOn(all, 1);
    const weightBytes = N * K * 4;
    const row: KernelRow = {
      shape: `${M} x ${K} x ${N}`,
      op,
      referenceGflops: flops / tRef / 1e9,
      wasm1Gflops: flops / t1 / 1e9,
      wasmAllGflops: flops / tAll / 1e9,
      wasm1VsReference: tRef / t1,
      threadsVs1: t1 / tAll,
      wasm1WeightGBs: op === 'matvec' ? weightBytes / t1 / 1e9 : null,
      wasmAllWeightGBs: op === 'matvec' ? weightBytes / tAll / 1e9 : null,
      fractionOfReadBandwidth: op === 'matvec' ? weightBytes / t1 / 1e9 / readBandwidthGBs : null,
    };
    rows.push(row);
    log(
      `${op} ${row.shape}: reference ${row.referenceGflops.toFixed(2)}, wasm x1 ${row.wasm1Gflops.toFixed(2)}, wasm x${threads} ${row.wasmAllGflops.toFixed(2)} GFLOP/s`,
    );
  }
  one.dispose();
  all.dispose();
  return { threads, readBandwidthGBs, rows };
}

export function formatKernelReport(r: KernelReport): string {
  const f = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
  return [
    `read bandwidth, 1 thread: ${r.readBandwidthGBs.toFixed(1)} GB/s; all threads = ${r.threads}`,
    table(
      [
        'op  [M x K x N]',
        'ref GFLOP/s',
        'wasm x1',
        `wasm x${r.threads}`,
        'x1 / ref',
        `x${r.threads} / x1`,
        'x1 GB/s',
        `x${r.threads} GB/s`,
        'x1 / read bw',
      ],
      r.rows.map((row) => [
        `${row.op} ${row.shape}`,
        f(row.referenceGflops, 2),
        f(row.wasm1Gflops),
        f(row.wasmAllGflops),
        `${f(row.wasm1VsReference)}x`,
        `${f(row.threadsVs1, 2)}x`,
        f(row.wasm1WeightGBs),
        f(row.wasmAllWeightGBs),
        row.fractionOfReadBandwidth === null ? '-' : `${(row.fractionOfReadBandwidth * 100).toFixed(0)}%`,
      ]),
    ),
    'matvec streams N x K f32 weights once per call (GB/s of weight traffic); shapes below the 32 MiB L3 can beat the DRAM read bandwidth.',
  ].join('\n');
}
