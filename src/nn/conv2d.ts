import { type Backend, type PatchShape, convOutSize } from '../kernels/backend.js';
import type { Random } from '../tensor/random.js';
import type { Layer, Shape } from './layer.js';
import { affineBackward, affineForward, initUniform } from './linear.js';
import { Param } from './param.js';
import { Workspace } from './workspace.js';
import { UserError } from '../errors.js';

/**
 * 2-D convolution over channels-last images [B, H, W, C] as one matmul: im2col gathers every
 * output position's receptive field into a row [kh, kw, c], so y[B·OH·OW, OC] = cols · Wᵀ with
 * W [OC, kh·kw·C]. The backward pass is two more matmuls and col2im.
 */
export class Conv2d implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  readonly outShape: Shape;
  private readonly ws: Workspace;
  private cols: Float32Array = new Float32Array(0);

  constructor(
    readonly name: string,
    readonly inShape: Shape,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: number,
    readonly pad: number,
    private readonly backend: Backend,
    random: Random,
  ) {
    if (inShape.length !== 3)
      throw new UserError(`${name}: Conv2d takes [height, width, channels], got [${inShape}]`);
    const [H, W, C] = inShape;
    const [OH, OW] = [convOutSize(H, kernel, stride, pad), convOutSize(W, kernel, stride, pad)];
    if (!(OH > 0 && OW > 0)) throw new UserError(`${name}: kernel ${kernel} does not fit [${inShape}]`);
    this.outShape = [OH, OW, outChannels];
    const fanIn = kernel * kernel * C;
    this.weight = new Param(`${name}.weight`, [outChannels, kernel, kernel, C], backend);
    this.bias = new Param(`${name}.bias`, [outChannels], backend);
    initUniform(this.weight, fanIn, random);
    initUniform(this.bias, fanIn, random);
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

  private get dims() {
    const [H, W, C] = this.inShape;
    const [OH, OW] = this.outShape;
    return { H, W, C, OH, OW, KKC: this.kernel * this.kernel * C };
  }

  forward(x: Float32Array, batch: number): Float32Array {
    const { OH, OW, KKC } = this.dims;
    const rows = batch * OH * OW;
    this.cols = this.ws.f32('cols', rows * KKC);
    this.backend.im2col(this.cols, x, { ...this.patches, batch });
    return affineForward(this.backend, this.ws, this.cols, this.weight, this.bias, rows);
  }

  backward(dy: Float32Array, batch: number, needInputGrad: boolean): Float32Array | null {
    const { H, W, C, OH, OW } = this.dims;
    const rows = batch * OH * OW;
    const dcols = affineBackward(
      this.backend,
      this.ws,
      this.cols,
      dy,
      this.weight,
      this.bias,
      rows,
      needInputGrad,
    );
    if (!dcols) return null;
    // the receptive fields' gradients scattered back onto the image
    const dx = this.ws.f32('dimage', batch * H * W * C);
    this.backend.col2im(dx, dcols, { ...this.patches, batch });
    return dx;
  }

  private get patches(): PatchShape {
    const [height, width, channels] = this.inShape;
    return { batch: 0, height, width, channels, kernel: this.kernel, stride: this.stride, pad: this.pad };
  }
}
