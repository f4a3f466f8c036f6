/**
 * Kernel benchmark: matmul / matvec at LLM shapes on the reference backend, WASM on one thread and
 * WASM on every thread, all in this run, plus the core's read bandwidth from a WASM streaming loop
 * as the yardstick for matvec (which streams its weights once per call).
 */
import { ReferenceBackend, WasmBackend, defaultThreads } from '../src/kernels/index.js';
import { table } from '../src/report/table.js';
import { packInt4 } from '../src/quant/pack-int4.js';
import { quantizeRTN } from '../src/quant/rtn.js';
import { byteSizeOf } from '../src/tensor/dtype.js';
import { Tensor } from '../src/tensor/tensor.js';
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

/** A decode batch: M rows through one matmul against M one-row calls, same weights, all threads. */
export interface BatchRow {
  weights: string;
  rows: number;
  batchedMs: number;
  oneByOneMs: number;
}

export interface KernelReport {
  threads: number;
  readBandwidthGBs: number;
  rows: KernelRow[];
  batches: BatchRow[];
}

/** [K, N] of the decode-batch weights (TinyLlama's MLP) and the batch sizes */
const BATCH_SHAPE: [number, number] = [2048, 5632];
const BATCH_ROWS = [1, 2, 4, 8];

function benchBatches(be: WasmBackend): BatchRow[] {
  const [K, N] = BATCH_SHAPE;
  const wf = be.allocF32(N * K);
  wf.set(Float32Array.from({ length: N * K }, () => Math.random() - 0.5));
  const wq = be.allocBytes(byteSizeOf('q8_0', [N, K]));
  wq.set(Tensor.fromFloat32([N, K], wf).to('q8_0').data as Uint8Array);
  const q4 = quantizeRTN(wf, N, K, { bits: 4, groupSize: 128 });
  const inHeap = <T extends Float32Array | Uint8Array>(alloc: (n: number) => T, data: T): T => {
    const a = alloc(data.length);
    a.set(data);
    return a;
  };
  const w4 = {
    packed: inHeap((n) => be.allocBytes(n), packInt4(q4.q, N, K)),
    scales: inHeap((n) => be.allocF32(n), q4.scales),
    zeros: inHeap((n) => be.allocF32(n), q4.zeros),
    groupSize: 128,
  };
  const formats: [string, (out: Float32Array, a: Float32Array, M: number) => void][] = [
    ['f32', (out, a, M) => be.matmul(out, a, wf, M, N, K)],
    ['q8_0', (out, a, M) => be.matmulQuantized(out, a, wq, 'q8_0', M, N, K)],
    ['int4 g128', (out, a, M) => be.matmulInt4(out, a, w4, M, N, K)],
  ];
  const out: BatchRow[] = [];
  for (const [weights, matmul] of formats)
    for (const M of BATCH_ROWS) {
      const a = be.allocF32(M * K);
      a.set(Float32Array.from({ length: M * K }, () => Math.random() - 0.5));
      const y = be.allocF32(M * N);
      const batched = secondsPerCall(() => matmul(y, a, M), 0.5);
      const oneByOne = secondsPerCall(() => {
        for (let m = 0; m < M; m++) matmul(y.subarray(m * N, (m + 1) * N), a.subarray(m * K, (m + 1) * K), 1);
      }, 0.5);
      out.push({ weights, rows: M, batchedMs: batched * 1e3, oneByOneMs: oneByOne * 1e3 });
    }
  return out;
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
  log('decode batches');
  const batches = benchBatches(all);
  one.dispose();
  all.dispose();
  return { threads, readBandwidthGBs, rows, batches };
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
    '',
    `decode batches: M rows x ${BATCH_SHAPE[0]} x ${BATCH_SHAPE[1]} in one call vs M one-row calls, x${r.threads} threads`,
    table(
      ['weights', 'rows', 'one call ms', 'one-row calls ms', 'speedup'],
      r.batches.map((b) => [
        b.weights,
        String(b.rows),
        f(b.batchedMs, 3),
        f(b.oneByOneMs, 3),
        `${f(b.oneByOneMs / b.batchedMs, 2)}x`,
      ]),
    ),
  ].join('\n');
}
