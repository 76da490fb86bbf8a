/**
 * A transposed convolution with a bias followed by tanh, as one layer (issue 5: fewer GPU dispatches a
 * step): the generators' last layer. On WebGPU the bias and tanh run as one program and tanh's
 * gradient as one (../backends/kernels/bias-tanh.ts): three dispatches fewer per forward and backward
 * pass, the same bits as the two layers. Elsewhere (WebAssembly, the CPU backend, our kernels turned
 * off) it is Conv2DTranspose's own call and then tfjs's tanh, as the two layers computed it.
 * Checkpoints saved before it keep tfjs-layers' Conv2DTranspose and Activation('tanh') layers and
 * load as they were.
 */
import { tf, tfl } from '../backends/tf';
import { biasTanhOnDevice, biasTanhOnDeviceAvailable } from '../backends/kernels/bias-tanh';

type ConvTransposeArgs = NonNullable<Parameters<typeof tfl.layers.conv2dTranspose>[0]>;

/** What `Conv2DTransposeTanh` takes: tfjs-layers' Conv2DTranspose arguments, without an activation (it is tanh). */
export type Conv2DTransposeTanhArgs = Omit<ConvTransposeArgs, 'activation'>;

/** The fields of tfjs-layers' Conv2DTranspose that the fused call reads. */
interface ConvTransposeInternals {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  filters: number;
  kernelSize: number[];
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: string;
}

type LayerClass = new (args: ConvTransposeArgs) => tfl.layers.Layer;
const Conv2DTransposeLayer = Object.getPrototypeOf(tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 1 })).constructor as LayerClass;

/** tfjs-layers' output length of a transposed convolution ('same' and 'valid' padding). */
function deconvLength(size: number, stride: number, kernel: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? size * stride : size * stride + Math.max(kernel - stride, 0);
}

export class Conv2DTransposeTanh extends Conv2DTransposeLayer {
  static className = 'GanAugmentConv2DTransposeTanh';

  constructor(args: Conv2DTransposeTanhArgs) {
    const { activation, ...conv } = args as ConvTransposeArgs;
    if (activation != null && activation !== 'linear') throw new Error('Conv2DTransposeTanh: the activation is its tanh; give no other.');
    super({ ...conv, activation: 'linear' });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const c = this as unknown as ConvTransposeInternals;
    const fuses =
      c.bias !== null &&
      x.rank === 4 &&
      c.dataFormat === 'channelsLast' &&
      (c.padding === 'same' || c.padding === 'valid') &&
      c.bias.read().size === c.filters &&
      biasTanhOnDeviceAvailable(c.bias.read(), x);
    if (!fuses) return tf.tidy(() => tf.tanh(super.call(inputs, kwargs) as tf.Tensor));
    const padding = c.padding as 'same' | 'valid';
    return tf.tidy(() => {
      // Conv2DTranspose's call without its bias (tfjs-layers' output shape, channels last).
      const [batch, height, width] = x.shape;
      const outShape: [number, number, number, number] = [
        batch,
        deconvLength(height, c.strides[0]!, c.kernelSize[0]!, padding),
        deconvLength(width, c.strides[1]!, c.kernelSize[1]!, padding),
        c.filters,
      ];
      const y = tf.conv2dTranspose(x, c.kernel.read() as tf.Tensor4D, outShape, c.strides as [number, number], padding);
      return biasTanhOnDevice(y, c.bias!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = { ...super.getConfig() };
    delete (config as { activation?: unknown }).activation;
    return config;
  }
}
// (tfjs-layers' Layer has the static fromConfig that registerClass asks for; the runtime base class's type does not say so.)
tf.serialization.registerClass(Conv2DTransposeTanh as unknown as tf.serialization.SerializableConstructor<Conv2DTransposeTanh>);

export function conv2dTransposeTanh(args: Conv2DTransposeTanhArgs): Conv2DTransposeTanh {
  return new Conv2DTransposeTanh(args);
}
