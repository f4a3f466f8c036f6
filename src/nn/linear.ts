import type { Backend } from '../kernels/backend.js';
import type { Random } from '../tensor/random.js';
import type { Layer, Shape } from './layer.js';
import { Param } from './param.js';
import { Workspace } from './workspace.js';
import { UserError } from '../errors.js';

/** y[B, out] = x[B, in] · Wᵀ + b, W [out, in] as in PyTorch; initialized U(±1/√in) like PyTorch. */
export class Linear implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  readonly outShape: Shape;
  private readonly ws: Workspace;
  private x: Float32Array = new Float32Array(0);

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly outFeatures: number,
    private readonly backend: Backend,
    random: Random,
  ) {
    if (inShape.length !== 1) throw new UserError(`${name}: Linear takes a flat input, got [${inShape}]`);
    const inF = inShape[0];
    this.outShape = [outFeatures];
    this.weight = new Param(`${name}.weight`, [outFeatures, inF], backend);
    this.bias = new Param(`${name}.bias`, [outFeatures], backend);
    initUniform(this.weight, inF, random);
    initUniform(this.bias, inF, random);
    this.ws = new Workspace(backend);
  }

  params(): Param[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
    this.ws.dispose();
  }

  forward(x: Float32Array, batch: number): Float32Array {
    this.x = x;
    return affineForward(this.backend, this.ws, x, this.weight, this.bias, batch);
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    return affineBackward(this.backend, this.ws, this.x, dy, this.weight, this.bias, batch, needInputGrad);
  }
}

/** y[rows, N] = x[rows, K] · Wᵀ + b, W [N, K]: a linear layer, and a convolution over its im2col rows. */
export function affineForward(
  backend: Backend,
  ws: Workspace,
  x: Float32Array,
  weight: Param,
  bias: Param,
  rows: number,
): Float32Array {
  const [N, K] = [weight.shape[0], weight.size / weight.shape[0]];
  const y = ws.f32('y', rows * N);
  backend.matmul(y, x, weight.data, rows, N, K);
  addBias(y, bias.data, rows, N);
  return y;
}

/** Writes ∂W = dyᵀ · x and ∂b = Σ_rows dy; returns ∂x = dy · W (when asked). */
export function affineBackward(
  backend: Backend,
  ws: Workspace,
  x: Float32Array,
  dy: Float32Array,
  weight: Param,
  bias: Param,
  rows: number,
  needInputGrad: boolean,
): Float32Array | null {
  const [N, K] = [weight.shape[0], weight.size / weight.shape[0]];
  const dyT = ws.f32('dyT', N * rows);
  backend.transpose(dyT, dy, rows, N);
  const xT = ws.f32('xT', K * rows);
  backend.transpose(xT, x, rows, K);
  backend.matmul(weight.grad, dyT, xT, N, K, rows);
  sumRows(bias.grad, dy, rows, N);
  if (!needInputGrad) return null;
  const wT = ws.f32('wT', K * N);
  backend.transpose(wT, weight.data, N, K);
  const dx = ws.f32('dx', rows * K);
  backend.matmul(dx, dy, wT, rows, K, N);
  return dx;
}

export function initUniform(p: Param, fanIn: number, random: Random): void {
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < p.size; i++) p.data[i] = random.uniform(-bound, bound);
}

export function addBias(y: Float32Array, bias: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) y[o + c] += bias[c];
  }
}

/** out[c] = Σ_r a[r, c] */
export function sumRows(out: Float32Array, a: Float32Array, rows: number, cols: number): void {
  out.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[c] += a[o + c];
  }
}
