/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
 * the same random, differentiable transformations applied to real and fake images before D, so
 * that D cannot memorise a small training set while G still gets gradients through them.
 *
 * Random parameters are drawn on the CPU from a seeded Prng (deterministic resume) and become
 * constant tensors; every transformation is made of ops with gradients (add, mul, mean, batched
 * matMul with one-hot shift matrices), so it also works inside the WGAN-GP double backward.
 * Images are NHWC in [-1, 1]; output has the same shape.
 */
import { tf } from '../backends/tf';
import type { DiffAugmentConfig } from './config';
import { Prng } from '../training/rng';

/** Builds the augmentation of one call (fixed random parameters) for a batch of B images. */
export function makeDiffAugment(
  cfg: DiffAugmentConfig,
  batch: number,
  resolution: number,
  channels: number,
  seed: number,
): (x: tf.Tensor4D) => tf.Tensor4D {
  if (!cfg.enabled) return (x) => x;
  const rng = new Prng(seed);
  const R = resolution;
  const B = batch;
  // Colour: brightness offset in [-0.5, 0.5), saturation factor in [0, 2), contrast factor in [0.5, 1.5).
  const brightness = Float32Array.from({ length: B }, () => rng.next() - 0.5);
  const saturation = Float32Array.from({ length: B }, () => rng.next() * 2);
  const contrast = Float32Array.from({ length: B }, () => rng.next() + 0.5);
  // Translation: integer shift in [-s, s] pixels per axis, s = round(R * ratio).
  const s = Math.round(R * cfg.translationRatio);
  const shiftY = Int32Array.from({ length: B }, () => rng.int(2 * s + 1) - s);
  const shiftX = Int32Array.from({ length: B }, () => rng.int(2 * s + 1) - s);
  // Cutout: square of side c at a random centre (may be clipped by the border).
  const c = Math.round(R * cfg.cutoutRatio);
  const cutY = Int32Array.from({ length: B }, () => rng.int(R + (1 - (c % 2))));
  const cutX = Int32Array.from({ length: B }, () => rng.int(R + (1 - (c % 2))));

  /** One-hot shift matrices [B, R, R]: (M x)[i] = x[i - shift] (zero outside). */
  const shiftMatrices = (shifts: Int32Array): tf.Tensor3D => {
    const m = new Float32Array(B * R * R);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < R; i++) {
        const src = i - shifts[b]!;
        if (src >= 0 && src < R) m[b * R * R + i * R + src] = 1;
      }
    }
    return tf.tensor3d(m, [B, R, R]);
  };

  return (input: tf.Tensor4D): tf.Tensor4D =>
    tf.tidy(() => {
      let x: tf.Tensor4D = input;
      if (cfg.color) {
        x = tf.add(x, tf.tensor4d(brightness, [B, 1, 1, 1]));
        if (channels > 1) {
          const mean = tf.mean(x, 3, true);
          x = tf.add(tf.mul(tf.sub(x, mean), tf.tensor4d(saturation, [B, 1, 1, 1])), mean);
        }
        const mean = tf.mean(x, [1, 2, 3], true);
        x = tf.add(tf.mul(tf.sub(x, mean), tf.tensor4d(contrast, [B, 1, 1, 1])), mean);
      }
      if (cfg.translation && s > 0) {
        // Rows: [B, R, R*C] = My [B, R, R] @ x.
        x = tf.reshape(tf.matMul(shiftMatrices(shiftY), tf.reshape(x, [B, R, R * channels])), [B, R, R, channels]);
        // Columns: move W first, shift, move back.
        const t = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, R, R * channels]);
        x = tf.transpose(tf.reshape(tf.matMul(shiftMatrices(shiftX), t), [B, R, R, channels]), [0, 2, 1, 3]);
      }
      if (cfg.cutout && c > 0) {
        const mask = new Float32Array(B * R * R).fill(1);
        for (let b = 0; b < B; b++) {
          const y0 = Math.max(0, cutY[b]! - Math.floor(c / 2));
          const x0 = Math.max(0, cutX[b]! - Math.floor(c / 2));
          const y1 = Math.min(R, cutY[b]! - Math.floor(c / 2) + c);
          const x1 = Math.min(R, cutX[b]! - Math.floor(c / 2) + c);
          for (let i = y0; i < y1; i++) for (let j = x0; j < x1; j++) mask[b * R * R + i * R + j] = 0;
        }
        x = tf.mul(x, tf.tensor4d(mask, [B, R, R, 1]));
      }
      return x;
    });
}
