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
  strides: number[];
  padding: 'valid' | 'same' | 'causal';
  dataFormat: string;
}

type LayerClass = new (args: ConvTransposeArgs) => tfl.layers.Layer;
const Conv2DTransposeLayer = Object.getPrototypeOf(tfl.layers.conv2dTranspose({ filters: 1, kernelSize: 1 })).constructor as LayerClass;

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
    const bias = c.bias?.read();
    const fuses =
      bias !== undefined &&
      bias.size === c.filters &&
      x.rank === 4 &&
      c.dataFormat === 'channelsLast' &&
      (c.padding === 'same' || c.padding === 'valid') &&
      biasTanhOnDeviceAvailable(bias, x);
    if (!fuses) return tf.tidy(() => tf.tanh(super.call(inputs, kwargs) as tf.Tensor));
    return tf.tidy(() => {
      // Conv2DTranspose's call without its bias, to the output shape the layer computes for x.
      const outShape = this.computeOutputShape(x.shape) as [number, number, number, number];
      const y = tf.conv2dTranspose(x, c.kernel.read() as tf.Tensor4D, outShape, c.strides as [number, number], c.padding as 'same' | 'valid');
      return biasTanhOnDevice(y, bias);
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
