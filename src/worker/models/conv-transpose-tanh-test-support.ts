/**
 * For the tests of Conv2DTransposeTanh (./conv-transpose-tanh.test.ts on WebGPU, ./conv-transpose-tanh.cpu.test.ts
 * on the processor's backends): shapes, and the layer beside the two layers it stands for.
 */
import { tf, tfl } from '../backends/tf';
import { conv2dTransposeTanh } from './conv-transpose-tanh';

export interface Case {
  /** The layer's input [B, H, W, C]. */
  x: number[];
  filters: number;
  kernelSize: number;
  strides: number;
  padding: 'same' | 'valid';
}

export const CASES: Case[] = [
  { x: [2, 4, 4, 8], filters: 3, kernelSize: 4, strides: 2, padding: 'same' }, // a generator's last layer
  { x: [3, 5, 7, 6], filters: 5, kernelSize: 3, strides: 2, padding: 'valid' },
  { x: [1, 8, 8, 16], filters: 1, kernelSize: 4, strides: 1, padding: 'same' },
];

/** The fused layer, and Conv2DTranspose then tanh as two layers, with the same weights, built for the case. */
export function layerPair(c: Case, useBias = true, seed = 1) {
  const args = { filters: c.filters, kernelSize: c.kernelSize, strides: c.strides, padding: c.padding, useBias };
  const fused = conv2dTransposeTanh(args);
  const conv = tfl.layers.conv2dTranspose(args);
  const tanh = tfl.layers.activation({ activation: 'tanh' });
  const weights = [tf.randomNormal([c.kernelSize, c.kernelSize, c.filters, c.x[3]!], 0, 0.4, 'float32', seed)];
  if (useBias) weights.push(tf.randomNormal([c.filters], 0, 0.5, 'float32', seed + 1));
  for (const layer of [fused, conv]) {
    layer.apply(tf.zeros(c.x), { training: false }); // builds the weights
    layer.setWeights(weights);
  }
  const dispose = () => {
    tf.dispose(weights);
    for (const layer of [fused, conv, tanh]) layer.dispose();
  };
  return { fused: [fused], separate: [conv, tanh], dispose };
}

