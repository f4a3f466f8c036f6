import type { Backend } from '../kernels/backend.js';
import type { Random } from '../tensor/random.js';
import { type Layer, type Shape, sizeOf } from './layer.js';
import type { Param } from './param.js';
import { Workspace } from './workspace.js';
import { UserError } from '../errors.js';

export class ReLU implements Layer {
  readonly outShape: Shape;
  private readonly ws: Workspace;
  private y: Float32Array = new Float32Array(0);

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    backend: Backend,
  ) {
    this.outShape = inShape;
    this.ws = new Workspace(backend);
  }

  params(): Param[] {
    return [];
  }

  dispose(): void {
    this.ws.dispose();
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const y = this.ws.f32('y', batch * sizeOf(this.inShape));
    for (let i = 0; i < y.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
    this.y = y;
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    const dx = this.ws.f32('dx', dy.length);
    for (let i = 0; i < dx.length; i++) dx[i] = this.y[i] > 0 ? dy[i] : 0;
    return dx;
  }
}

/** Inverted dropout: in training each value is kept with probability 1 - p and scaled by 1 / (1 - p). */
export class Dropout implements Layer {
  readonly outShape: Shape;
  private readonly ws: Workspace;
  private keep = new Uint8Array(0);
  private active = false;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly p: number,
    private readonly random: Random,
    backend: Backend,
  ) {
    if (!(p >= 0 && p < 1)) throw new UserError(`${name}: dropout p must lie in [0, 1), got ${p}`);
    this.outShape = inShape;
    this.ws = new Workspace(backend);
  }

  params(): Param[] {
    return [];
  }

  dispose(): void {
    this.ws.dispose();
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    this.active = training && this.p > 0;
    if (!this.active) return x;
    const n = batch * sizeOf(this.inShape);
    const y = this.ws.f32('y', n);
    if (this.keep.length < n) this.keep = new Uint8Array(n);
    const scale = 1 / (1 - this.p);
    for (let i = 0; i < n; i++) {
      this.keep[i] = this.random.next() >= this.p ? 1 : 0;
      y[i] = this.keep[i] ? x[i] * scale : 0;
    }
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    if (!this.active) return dy;
    const dx = this.ws.f32('dx', dy.length);
    const scale = 1 / (1 - this.p);
    for (let i = 0; i < dx.length; i++) dx[i] = this.keep[i] ? dy[i] * scale : 0;
    return dx;
  }
}

/** [H, W, C] -> [H·W·C]: the data is already laid out that way, so only the shape changes. */
export class Flatten implements Layer {
  readonly outShape: Shape;

  constructor(
    readonly name: string,
    readonly inShape: Shape,
  ) {
    this.outShape = [sizeOf(inShape)];
  }

  params(): Param[] {
    return [];
  }

  dispose(): void {}

  forward(x: Float32Array): Float32Array {
    return x;
  }

  backward(dy: Float32Array, _batch: number, needInputGrad: boolean): Float32Array | null {
    return needInputGrad ? dy : null;
  }
}
