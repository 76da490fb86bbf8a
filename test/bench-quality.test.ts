/**
 * bench/train-quality.bench.ts compares our trainer with PyTorch's by a distance between generated and
 * real images: that distance and the images it is measured on must behave as its header says.
 */
import { describe, expect, it } from 'vitest';
import { downsampled, LESION_KINDS, lesionImages, slicedWasserstein } from '../bench/quality';

describe('bench/quality.ts', () => {
  it('lesionImages: the same seed gives the same bytes, another seed others; a darker lesion on lighter skin', () => {
    const a = lesionImages(8, 32, 7);
    expect(a).toHaveLength(8 * 32 * 32 * 3);
    expect(lesionImages(8, 32, 7)).toEqual(a);
    expect(lesionImages(8, 32, 8)).not.toEqual(a);
    // Each image's corner (skin) is brighter than its centre region's darkest pixel (the lesion's core).
    for (let i = 0; i < 8; i++) {
      const at = (x: number, y: number) => [0, 1, 2].reduce((s, c) => s + a[((i * 32 + y) * 32 + x) * 3 + c]!, 0);
      let darkest = Infinity;
      for (let y = 10; y < 22; y++) for (let x = 10; x < 22; x++) darkest = Math.min(darkest, at(x, y));
      expect(at(0, 0)).toBeGreaterThan(darkest + 60);
    }
  });

  it(`lesionImages with labels: kind 1 (${LESION_KINDS[1]}) covers more skin than kind 0 (${LESION_KINDS[0]})`, () => {
    const labels = Int32Array.from({ length: 32 }, (_, i) => i % 2);
    const a = lesionImages(32, 32, 7, labels);
    // Per image, the pixels well darker than its corner (the skin): the lesion's area.
    const area = (i: number) => {
      const sum = (p: number) => a[(i * 1024 + p) * 3]! + a[(i * 1024 + p) * 3 + 1]! + a[(i * 1024 + p) * 3 + 2]!;
      let dark = 0;
      for (let p = 0; p < 1024; p++) if (sum(p) < sum(0) - 80) dark++;
      return dark;
    };
    const mean = (kind: number) => labels.reduce((s, l, i) => s + (l === kind ? area(i) : 0), 0) / 16;
    expect(mean(0)).toBeGreaterThan(5);
    expect(mean(1)).toBeGreaterThan(2 * mean(0));
  });

  it('downsampled: the mean of each block, in [0, 1]', () => {
    // One 4x4 image: channel 0 holds 0..15, channels 1 and 2 hold 255.
    const img = new Uint8Array(4 * 4 * 3);
    for (let p = 0; p < 16; p++) [img[3 * p], img[3 * p + 1], img[3 * p + 2]] = [p, 255, 255];
    const d = downsampled(img, 1, 4, 2);
    expect(d).toHaveLength(2 * 2 * 3);
    // The top-left block holds pixels 0, 1, 4 and 5.
    expect(d[0]).toBeCloseTo((0 + 1 + 4 + 5) / 4 / 255, 6);
    expect(d[1]).toBeCloseTo(1, 6);
    expect(d[3 * 3]).toBeCloseTo((10 + 11 + 14 + 15) / 4 / 255, 6);
  });

  it('slicedWasserstein: 0 between a set and itself (in any order), the shift between a set and itself shifted', () => {
    const [n, d] = [64, 12];
    const a = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.5);
    const reversed = new Float32Array(n * d);
    for (let i = 0; i < n; i++) reversed.set(a.subarray((n - 1 - i) * d, (n - i) * d), i * d);
    expect(slicedWasserstein(a, a, n, d)).toBe(0);
    expect(slicedWasserstein(a, reversed, n, d)).toBeCloseTo(0, 12);
    // Every vector moved by t along one axis: each direction's projections move by t times its component
    // on that axis, so the distance is t times the mean |component| of a random unit vector (about
    // sqrt(2 / (pi d)) for d = 12: 0.23), the same for every pair of sets so moved.
    const shifted = (t: number) => a.map((v, i) => (i % d === 0 ? v + t : v));
    const one = slicedWasserstein(a, shifted(0.1), n, d);
    expect(one).toBeGreaterThan(0.1 * 0.15);
    expect(one).toBeLessThan(0.1 * 0.32);
    expect(slicedWasserstein(a, shifted(0.3), n, d)).toBeCloseTo(3 * one, 5);
    expect(slicedWasserstein(shifted(0.1), a, n, d)).toBeCloseTo(one, 12);
    expect(() => slicedWasserstein(a, a.subarray(d), n, d)).toThrow(/different sizes/);
  });
});
