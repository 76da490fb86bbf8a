/**
 * A convolution followed by LeakyReLU, as one layer (issue 5: fewer GPU dispatches a step). The
 * critics' blocks without batch norm (the conditional WGAN-GP's, and every discriminator's image
 * layer) are a Conv2D with a bias and then a LeakyReLU. tfjs-layers has no LeakyReLU activation for
 * its Conv2D, and tfjs-core's fused conv2d has no gradient for one; here, on WebGPU, the LeakyReLU
 * runs in the epilogue of our forward convolution kernel (`tf.fused.conv2d` with activation
 * 'leakyrelu', ../backends/kernels/conv2d-forward.ts), and its gradient is ours
 * (../backends/gradients.ts: dy masked by the output, then the three convolution gradients). The
 * same bits as the two layers, one dispatch fewer per forward pass, and no pre-activation tensor.
 * Elsewhere (WebAssembly, the CPU backend, our gradients or kernels turned off, a slope that is not
 * positive) it is Conv2D's own call and then tfjs's leakyRelu, as the two layers computed it.
 */
import { tf, tfl } from '../backends/tf';
import { ourKernelsRequested } from '../backends/kernels/common';
import { fusedLeakyReluTrainable } from '../backends/gradients';

type ConvArgs = NonNullable<Parameters<typeof tfl.layers.conv2d>[0]>;

/** What `Conv2DLeakyReLU` takes: tfjs-layers' Conv2D arguments (no activation) and LeakyReLU's slope. */
export interface Conv2DLeakyReLUArgs extends Omit<ConvArgs, 'activation'> {
  /** LeakyReLU's slope for negative inputs (tfjs-layers' LeakyReLU default, 0.3, where not given). */
  alpha?: number;
}

/** The fields of tfjs-layers' Conv2D that the fused call reads. */
interface ConvInternals {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  strides: number[];
  padding: 'valid' | 'same';
  dataFormat: string;
  dilationRate: number | number[];
}

type ConvLayerClass = new (args: ConvArgs) => tfl.layers.Layer;
const Conv2DLayer = Object.getPrototypeOf(tfl.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor as ConvLayerClass;

export class Conv2DLeakyReLU extends Conv2DLayer {
  static className = 'GanAugmentConv2DLeakyReLU';
  readonly alpha: number;

  constructor(args: Conv2DLeakyReLUArgs) {
    const { alpha, ...conv } = args as Conv2DLeakyReLUArgs & { activation?: unknown };
    if (conv.activation != null && conv.activation !== 'linear') throw new Error('Conv2DLeakyReLU: the activation is its LeakyReLU; give no other.');
    super({ ...conv, activation: 'linear' });
    this.alpha = alpha ?? 0.3;
  }

  /**
   * Whether the LeakyReLU can run in the convolution's kernel here: on WebGPU, and where our
   * FusedConv2D gradient takes the call (float32 NHWC, no dilation), since tfjs-core's has none for it.
   */
  private fuses(x: tf.Tensor): boolean {
    const c = this as unknown as ConvInternals;
    const undilated = [c.dilationRate].flat().every((d) => d === 1);
    return (
      tf.getBackend() === 'webgpu' &&
      ourKernelsRequested() &&
      fusedLeakyReluTrainable(this.alpha) &&
      x.rank === 4 &&
      x.dtype === 'float32' &&
      c.dataFormat === 'channelsLast' &&
      undilated
    );
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!this.fuses(x)) return tf.tidy(() => tf.leakyRelu(super.call(inputs, kwargs) as tf.Tensor, this.alpha));
    const c = this as unknown as ConvInternals;
    return tf.tidy(() =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: c.kernel.read() as tf.Tensor4D,
        bias: c.bias?.read(),
        strides: c.strides as [number, number],
        pad: c.padding,
        dataFormat: 'NHWC',
        dilations: c.dilationRate as [number, number],
        activation: 'leakyrelu',
        leakyreluAlpha: this.alpha,
      }),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = { ...super.getConfig(), alpha: this.alpha };
    delete (config as { activation?: unknown }).activation;
    return config;
  }
}
// (tfjs-layers' Layer has the static fromConfig that registerClass asks for; the runtime base class's type does not say so.)
tf.serialization.registerClass(Conv2DLeakyReLU as unknown as tf.serialization.SerializableConstructor<Conv2DLeakyReLU>);

export function conv2dLeakyReLU(args: Conv2DLeakyReLUArgs): Conv2DLeakyReLU {
  return new Conv2DLeakyReLU(args);
}
