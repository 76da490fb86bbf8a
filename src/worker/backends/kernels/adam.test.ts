/**
 * The fused Adam (./adam) against tfjs's own AdamOptimizer on WebGPU (lavapipe here), step by step,
 * including a checkpoint round trip through getWeights / setWeights. Skipped, with the reason
 * printed, when no WebGPU adapter exists. Its own file: the tfjs backend is process-wide.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { adamTwins, maxRelDiff, webgpuSkipReason } from './test-support';
import { createAdam } from './adam';
import { Prng } from '../../training/rng';

const reason = await webgpuSkipReason('fused Adam tests');

/** Shapes of a small network's variables, one of them larger than one dispatch's threads. */
const SHAPES: number[][] = [[4, 4, 3, 8], [8], [7], [100, 33], [1], [5000, 900]];

describe.skipIf(reason !== '')('fused Adam (WebGPU)', () => {
  it("matches tfjs's Adam over several steps, survives a getWeights / setWeights round trip, leaks nothing", async () => {
    const rng = new Prng(5);
    const { ours, theirs, optOurs, optTheirs, grads, step } = adamTwins(SHAPES, ['fused', 'tfjs'], 9);
    step(rng.int(1e9)); // creates the accumulators
    const before = tf.memory().numTensors;
    for (let s = 0; s < 4; s++) step(rng.int(1e9));
    expect(tf.memory().numTensors).toBe(before);
    expect(optOurs.lastStepFused).toBe(true);
    for (let i = 0; i < ours.length; i++) expect(await maxRelDiff(theirs[i]!, ours[i]!)).toBeLessThan(1e-5);

    // Same state layout as tfjs's: names and values of the moments.
    const wOurs = await optOurs.getWeights();
    const wTheirs = await optTheirs.getWeights();
    expect(wOurs.map((w) => w.name.replace(/^fused/, 'x'))).toEqual(wTheirs.map((w) => w.name.replace(/^tfjs/, 'x')));
    for (let i = 1; i < wOurs.length; i++) expect(await maxRelDiff(wTheirs[i]!.tensor, wOurs[i]!.tensor)).toBeLessThan(1e-5);

    // A fresh fused optimizer restored from tfjs's state continues exactly like tfjs's.
    const restored = createAdam(2e-3, 0.5, 0.999, 1e-7);
    await restored.setWeights(wTheirs.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    const copies = theirs.map((v, i) => tf.variable(tf.clone(v), true, `copy_${i}_${rng.int(1e9)}`));
    const seed = rng.int(1e9);
    const gC = grads(copies, seed);
    const gT = grads(theirs, seed);
    restored.applyGradients(gC);
    optTheirs.applyGradients(gT);
    for (let i = 0; i < copies.length; i++) expect(await maxRelDiff(theirs[i]!, copies[i]!)).toBeLessThan(1e-5);

    tf.dispose([...ours, ...theirs, ...copies, ...Object.values(gC), ...Object.values(gT)]);
    optOurs.dispose();
    optTheirs.dispose();
    restored.dispose();
  });

  it("uses tfjs's own update with GAN_AUGMENT_WGSL_KERNELS=0", () => {
    const saved = process.env.GAN_AUGMENT_WGSL_KERNELS;
    process.env.GAN_AUGMENT_WGSL_KERNELS = '0';
    try {
      const v = tf.variable(tf.ones([3]), true, `off_${Date.now()}`);
      const opt = createAdam(1e-3, 0.9, 0.999);
      const g = tf.ones([3]);
      opt.applyGradients({ [v.name]: g });
      expect(opt.lastStepFused).toBe(false);
      tf.dispose([v, g]);
      opt.dispose();
    } finally {
      if (saved === undefined) delete process.env.GAN_AUGMENT_WGSL_KERNELS;
      else process.env.GAN_AUGMENT_WGSL_KERNELS = saved;
    }
  });
});
