import type { Backend } from '../kernels/backend.js';
import { convOutSize } from '../kernels/backend.js';
import type { Layer, Shape } from './layer.js';
import type { Param } from './param.js';
import { Workspace } from './workspace.js';
import { UserError } from '../errors.js';

/** Max pooling over channels-last images; backward routes each gradient to the input that won. */
export class MaxPool2d implements Layer {
  readonly outShape: Shape;
  private readonly ws: Workspace;
  private winners = new Int32Array(0);

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly kernel: number,
    readonly stride: number,
    backend: Backend,
  ) {
    if (inShape.length !== 3)
      throw new UserError(`${name}: MaxPool2d takes [height, width, channels], got [${inShape}]`);
    const [H, W, C] = inShape;
    this.outShape = [convOutSize(H, kernel, stride), convOutSize(W, kernel, stride), C];
    if (!(this.outShape[0] > 0 && this.outShape[1] > 0))
      throw new UserError(`${name}: pool ${kernel} does not fit [${inShape}]`);
    this.ws = new Workspace(backend);
  }

  params(): Param[] {
    return [];
  }

  dispose(): void {
    this.ws.dispose();
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const [H, W, C] = this.inShape;
    const [OH, OW] = this.outShape;
    const { kernel: k, stride: s } = this;
    const n = batch * OH * OW * C;
    const y = this.ws.f32('y', n);
    if (this.winners.length < n) this.winners = new Int32Array(n);
    const win = this.winners;
    for (let b = 0; b < batch; b++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let c = 0; c < C; c++) {
            let best = -Infinity;
            let at = 0;
            for (let kh = 0; kh < k; kh++)
              for (let kw = 0; kw < k; kw++) {
                const i = ((b * H + oh * s + kh) * W + ow * s + kw) * C + c;
                if (x[i] > best) {
                  best = x[i];
                  at = i;
                }
              }
            const o = ((b * OH + oh) * OW + ow) * C + c;
            y[o] = best;
            win[o] = at;
          }
    return y;
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    const dx = this.ws.f32('dx', batch * this.inShape[0] * this.inShape[1] * this.inShape[2]);
    dx.fill(0);
    const n = batch * this.outShape[0] * this.outShape[1] * this.outShape[2];
    for (let o = 0; o < n; o++) dx[this.winners[o]] += dy[o];
    return dx;
  }
}
