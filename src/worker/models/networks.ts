/**
 * The networks of both model families, as tfjs-layers models (so that topology + weights save and
 * load through tf.io.withSaveHandler / tf.io.fromMemory).
 *
 * Shapes (B = batch, R = resolution, C = image channels, n = log2(R / 4)):
 *   DCGAN generator        z [B, latentDim]                       -> image [B, R, R, C] in [-1, 1]
 *   DCGAN discriminator    image [B, R, R, C]                     -> logit [B, 1]
 *   conditional generator  [z [B, latentDim], label [B, 1] int32] -> image [B, R, R, C]
 *   projection critic      [image [B, R, R, C], label [B, 1]]     -> score [B, 1]
 * The DCGAN matches the PyTorch reference in ../shared/bench/README.md ('same' padding with k4 s2 is
 * PyTorch's padding 1; BatchNorm momentum 0.9 / epsilon 1e-5 are PyTorch's 0.1 / 1e-5).
 */
import { tfl } from '../backends/tf';
import { type GanConfig, numScaleLayers } from './config';
import { hashSeed } from '../training/rng';
import { batchNormActivation, installFusedBatchNorm } from './batchnorm';
import { conv2dLeakyReLU } from './conv-leaky';
import { conv2dTransposeTanh } from './conv-transpose-tanh';
import { projectionHead } from './projection-head';

// Batch norm's training branch with a closed-form backward pass on WebGPU (./batchnorm).
installFusedBatchNorm();

type Initializer = ReturnType<typeof tfl.initializers.randomNormal>;

/** A deterministic initialiser per layer: normal(0, initStdDev) seeded from (seed, network, layer). */
function initFactory(config: GanConfig, seed: number, network: string): () => Initializer {
  let layer = 0;
  return () => {
    const s = hashSeed(seed, `init/${network}/${layer++}`);
    return config.initStdDev > 0
      ? tfl.initializers.randomNormal({ mean: 0, stddev: config.initStdDev, seed: s })
      : tfl.initializers.glorotUniform({ seed: s });
  };
}

const BN = { momentum: 0.9, epsilon: 1e-5 } as const;

/**
 * The generator body after the latent input: dense -> 4x4xC -> upsampling blocks -> tanh. Batch norm
 * and its ReLU are one layer (`batchNormActivation`, ./batchnorm.ts), as in the critic's blocks below;
 * so are the last transposed convolution and its tanh.
 */
function generatorBody(config: GanConfig, input: tfl.SymbolicTensor, init: () => Initializer): tfl.SymbolicTensor {
  const n = numScaleLayers(config.resolution);
  let ch = config.generatorBaseChannels;
  let x = tfl.layers
    .dense({ units: 16 * ch, useBias: false, kernelInitializer: init() })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.reshape({ targetShape: [4, 4, ch] }).apply(x) as tfl.SymbolicTensor;
  x = batchNormActivation({ ...BN, activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  for (let i = 0; i < n - 1; i++) {
    ch = Math.max(1, Math.floor(ch / 2));
    x = tfl.layers
      .conv2dTranspose({ filters: ch, kernelSize: 4, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() })
      .apply(x) as tfl.SymbolicTensor;
    x = batchNormActivation({ ...BN, activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  }
  // The last layer and its tanh are one layer too (./conv-transpose-tanh.ts).
  const last = conv2dTransposeTanh({ filters: config.channels, kernelSize: 4, strides: 2, padding: 'same', useBias: true, kernelInitializer: init() });
  return last.apply(x) as tfl.SymbolicTensor;
}

/** Conv feature extractor of D / critic: image -> flattened features [B, 16 * lastChannels]. */
function discriminatorFeatures(
  config: GanConfig,
  image: tfl.SymbolicTensor,
  init: () => Initializer,
  norm: 'batch' | 'layer' | 'none',
): tfl.SymbolicTensor {
  const n = numScaleLayers(config.resolution);
  let ch = config.discriminatorBaseChannels;
  const alpha = config.leakySlope;
  const apply = (layer: tfl.layers.Layer, input: tfl.SymbolicTensor) => layer.apply(input) as tfl.SymbolicTensor;
  // A convolution with a bias and its LeakyReLU are one layer (./conv-leaky.ts), as batch norm and its
  // LeakyReLU are (./batchnorm.ts): the same function as the separate layers, in fewer GPU programs.
  let x = apply(conv2dLeakyReLU({ filters: ch, kernelSize: 4, strides: 2, padding: 'same', useBias: true, kernelInitializer: init(), alpha }), image);
  for (let i = 0; i < n - 1; i++) {
    ch *= 2;
    const conv = { filters: ch, kernelSize: 4, strides: 2, padding: 'same', kernelInitializer: init() } as const;
    if (norm === 'none') {
      x = apply(conv2dLeakyReLU({ ...conv, useBias: true, alpha }), x);
    } else if (norm === 'batch') {
      x = apply(batchNormActivation({ ...BN, activation: 'leakyRelu', alpha }), apply(tfl.layers.conv2d({ ...conv, useBias: false }), x));
    } else {
      // Layer norm over each sample's whole feature map (H, W, C), as in Gulrajani et al.
      x = apply(tfl.layers.conv2d({ ...conv, useBias: true }), x);
      x = apply(tfl.layers.layerNormalization({ axis: [1, 2, 3], epsilon: 1e-5 }), x);
      x = apply(tfl.layers.leakyReLU({ alpha }), x);
    }
  }
  return tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
}

export function buildDcganGenerator(config: GanConfig, seed: number): tfl.LayersModel {
  const z = tfl.input({ shape: [config.latentDim], name: 'z' });
  return tfl.model({ inputs: z, outputs: generatorBody(config, z, initFactory(config, seed, 'G')), name: 'dcgan_generator' });
}

export function buildDcganDiscriminator(config: GanConfig, seed: number): tfl.LayersModel {
  const init = initFactory(config, seed, 'D');
  const image = tfl.input({ shape: [config.resolution, config.resolution, config.channels], name: 'image' });
  const features = discriminatorFeatures(config, image, init, 'batch');
  const logit = tfl.layers.dense({ units: 1, kernelInitializer: init() }).apply(features) as tfl.SymbolicTensor;
  return tfl.model({ inputs: image, outputs: logit, name: 'dcgan_discriminator' });
}

/** Class-conditional generator: z concatenated with a learned label embedding. */
export function buildConditionalGenerator(config: GanConfig, seed: number): tfl.LayersModel {
  const init = initFactory(config, seed, 'G');
  const z = tfl.input({ shape: [config.latentDim], name: 'z' });
  const label = tfl.input({ shape: [1], name: 'label', dtype: 'int32' });
  let emb = tfl.layers
    .embedding({ inputDim: config.numClasses, outputDim: config.labelEmbeddingDim, embeddingsInitializer: init() })
    .apply(label) as tfl.SymbolicTensor;
  emb = tfl.layers.flatten().apply(emb) as tfl.SymbolicTensor;
  const zy = tfl.layers.concatenate().apply([z, emb]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [z, label], outputs: generatorBody(config, zy, init), name: 'cond_generator' });
}

/**
 * Projection critic (Miyato & Koyama 2018): score = w . phi(x) + b + embed(y) . phi(x). No batch
 * norm (it would couple samples and break the per-sample gradient penalty); layer norm or none. The
 * head is one layer (./projection-head.ts): on WebGPU our kernels, elsewhere the operations of the
 * Dense, Embedding, Dot and Add layers that checkpoints saved before it hold.
 */
export function buildProjectionCritic(config: GanConfig, seed: number): tfl.LayersModel {
  const init = initFactory(config, seed, 'D');
  const image = tfl.input({ shape: [config.resolution, config.resolution, config.channels], name: 'image' });
  const label = tfl.input({ shape: [1], name: 'label', dtype: 'int32' });
  const phi = discriminatorFeatures(config, image, init, config.criticNorm);
  // The initialisers in the order the four layers took them (the linear weights', then the
  // embedding's), so a critic starts from the same weights as before.
  const kernelInitializer = init();
  const embeddingsInitializer = init();
  const head = projectionHead({ numClasses: config.numClasses, kernelInitializer, embeddingsInitializer });
  const score = head.apply([phi, label]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [image, label], outputs: score, name: 'projection_critic' });
}
