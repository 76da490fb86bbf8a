/**
 * The projection critic's head (Miyato & Koyama 2018) as one layer (issue 5: fewer GPU dispatches in
 * a conditional WGAN-GP step): inputs [phi [B, F], label [B, 1]], output
 *
 *   score = phi . w + b + phi . E[label]
 *
 * what tfjs-layers' Dense(1), Embedding(K, F) + Flatten, Dot(axes 1) and Add computed as four layers
 * (checkpoints saved before this layer keep those and load as they were). On WebGPU it runs our
 * kernels (../backends/kernels/projection.ts): one program per critic pass instead of five, and
 * backward passes that compute only the gradients asked for, in about half the programs.
 * Elsewhere (WebAssembly, the CPU backend, our kernels turned off) it runs the four layers' own
 * operations in their order, so the same bits as they gave.
 */
import { tf, tfl } from '../backends/tf';
import { projectionOnDevice, projectionOnDeviceAvailable } from '../backends/kernels/projection';

type Initializer = ReturnType<typeof tfl.initializers.randomNormal>;
type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

export interface ProjectionHeadArgs extends LayerArgs {
  /** Classes K: rows of the embedding. */
  numClasses: number;
  /** The linear weights' initialiser (Dense's default, Glorot uniform, where not given). */
  kernelInitializer?: Initializer;
  /** The class embeddings' initialiser (Embedding's default, uniform in [-0.05, 0.05], where not given). */
  embeddingsInitializer?: Initializer;
}

/** An initialiser as tfjs-layers saves one ({className, config}), and back. */
interface SavedInitializer {
  className: string;
  config: tf.serialization.ConfigDict;
}

function saveInitializer(init: Initializer): SavedInitializer {
  return { className: init.getClassName(), config: init.getConfig() };
}

/** An initialiser object, or one as saved (not a string identifier such as 'glorotUniform', which Dense takes). */
function loadInitializer(saved: SavedInitializer | Initializer | undefined): Initializer | undefined {
  if (saved === undefined || saved instanceof tf.serialization.Serializable) return saved as Initializer | undefined;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[saved.className];
  if (!entry) throw new Error(`Unknown initializer ${saved.className} in a saved projection head.`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, saved.config) as Initializer;
}

export class ProjectionHead extends tfl.layers.Layer {
  static className = 'GanAugmentProjectionHead';
  readonly numClasses: number;
  private readonly kernelInitializer: Initializer;
  private readonly embeddingsInitializer: Initializer;
  private kernel: tfl.LayerVariable | null = null;
  private bias: tfl.LayerVariable | null = null;
  private embeddings: tfl.LayerVariable | null = null;

  constructor(args: ProjectionHeadArgs) {
    const { numClasses, kernelInitializer, embeddingsInitializer, ...layer } = args;
    super(layer);
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new Error(`ProjectionHead: numClasses must be a positive integer, got ${numClasses}.`);
    this.numClasses = numClasses;
    this.kernelInitializer = loadInitializer(kernelInitializer) ?? tfl.initializers.glorotUniform({});
    this.embeddingsInitializer = loadInitializer(embeddingsInitializer) ?? tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05 });
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [phi] = inputShape as tfl.Shape[];
    const features = phi?.[phi.length - 1];
    if (phi?.length !== 2 || typeof features !== 'number') throw new Error('ProjectionHead expects [features [B, F], labels [B, 1]].');
    this.kernel = this.addWeight('kernel', [features, 1], 'float32', this.kernelInitializer);
    this.bias = this.addWeight('bias', [1], 'float32', tfl.initializers.zeros());
    this.embeddings = this.addWeight('embeddings', [this.numClasses, features], 'float32', this.embeddingsInitializer);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return [(inputShape as tfl.Shape[])[0]![0]!, 1];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [phi, label] = inputs as [tf.Tensor2D, tf.Tensor];
      const labels = label.dtype === 'int32' ? label : tf.cast(label, 'int32');
      const [w, b, e] = [this.kernel!.read(), this.bias!.read(), this.embeddings!.read()];
      if (projectionOnDeviceAvailable(phi, labels, w, b, e)) return projectionOnDevice(phi, w, b, e, labels);
      // Dense: the fused matMul with its bias; Embedding + Flatten: a gather; Dot: a product summed
      // over the features (its operands in the layers' order); then Add.
      const linear = tf.fused.matMul({ a: phi, b: w as tf.Tensor2D, bias: b });
      const embedded = tf.gather(e, tf.reshape(labels, [labels.size]));
      const projection = tf.expandDims(tf.sum(tf.mul(embedded, phi), 1), 1);
      return tf.add(linear, projection);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numClasses: this.numClasses,
      kernelInitializer: saveInitializer(this.kernelInitializer) as unknown as tf.serialization.ConfigDictValue,
      embeddingsInitializer: saveInitializer(this.embeddingsInitializer) as unknown as tf.serialization.ConfigDictValue,
    };
  }
}
tf.serialization.registerClass(ProjectionHead as unknown as tf.serialization.SerializableConstructor<ProjectionHead>);

export function projectionHead(args: ProjectionHeadArgs): ProjectionHead {
  return new ProjectionHead(args);
}
