import type { Backend } from '../kernels/backend.js';
import type { Random } from '../tensor/random.js';
import type { Layer, Shape } from './layer.js';
import { Param } from './param.js';
import { Workspace } from './workspace.js';

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
    if (inShape.length !== 1) throw new RangeError(`${name}: Linear takes a flat input, got [${inShape}]`);
    const inF = inShape[0];
    this.outShape = [outFeatures];
    this.weight = new Param(`${name}.weight`, [outFeatures, inF], backend);
    this.bias = new Param(`${name}.bias`, [outFeatures], backend);
    initUniform(this.weight, inF, random);
    initUniform(this.bias, inF, random);
    this.ws = new Workspace(backend);
  }

  get inFeatures(): number {
    return this.inShape[0];
  }

  params(): Param[] {
    return [this.weight, this.bias];
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const [N, K] = [this.outFeatures, this.inFeatures];
    this.x = x;
    const y = this.ws.f32('y', batch * N);
    this.backend.matmul(y, x, this.weight.data, batch, N, K);
    addBias(y, this.bias.data, batch, N);
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    const [N, K] = [this.outFeatures, this.inFeatures];
    const ws = this.ws;
    // ∂W[N, K] = dyᵀ · x
    const dyT = ws.f32('dyT', N * batch);
    this.backend.transpose(dyT, dy, batch, N);
    const xT = ws.f32('xT', K * batch);
    this.backend.transpose(xT, this.x, batch, K);
    this.backend.matmul(this.weight.grad, dyT, xT, N, K, batch);
    sumRows(this.bias.grad, dy, batch, N);
    if (!needInputGrad) return null;
    // ∂x[B, K] = dy · W
    const wT = ws.f32('wT', K * N);
    this.backend.transpose(wT, this.weight.data, N, K);
    const dx = ws.f32('dx', batch * K);
    this.backend.matmul(dx, dy, wT, batch, K, N);
    return dx;
  }
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
