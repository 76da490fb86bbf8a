/**
 * What bench/train-quality.bench.ts trains on and measures with (tested in test/bench-quality.test.ts):
 * synthetic images shaped like dermoscopy, and the sliced Wasserstein distance between two sets of images.
 */
import { Prng } from '../src/worker/training/rng';

/** A normal(0, 1) draw (Box-Muller) from a Prng. */
function normal(rng: Prng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * `count` images [count, res, res, 3] uint8, NHWC: skin-toned backgrounds with a vignette, one brown
 * ellipse each (random centre, axes, angle) with a darker core and an edge a pixel or two soft, and
 * noise. The same seed gives the same bytes. `labels` (one per image) picks a kind for each, for the
 * conditional GAN: 0 (`LESION_KINDS`) small, round and light; 1 large, elongated and dark; without
 * labels, any of both and between.
 */
export function lesionImages(count: number, res: number, seed: number, labels?: Int32Array): Uint8Array {
  const rng = new Prng(seed);
  const out = new Uint8Array(count * res * res * 3);
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
  for (let i = 0; i < count; i++) {
    const skin = [u(170, 235), u(120, 180), u(100, 150)];
    const kind = labels?.[i];
    const shade = kind === undefined ? 1 : kind === 0 ? 1.35 : 0.65;
    const lesion = [u(70, 140) * shade, u(35, 80) * shade, u(20, 60) * shade];
    const core = lesion.map((c) => c * u(0.35, 0.7));
    const [cx, cy] = [u(0.3, 0.7) * res, u(0.3, 0.7) * res];
    let [ax, ay] = [u(0.12, 0.3) * res, u(0.12, 0.3) * res];
    if (kind === 0) [ax, ay] = [0.6 * ax, 0.6 * ax * (0.85 + 0.3 * (ay / res - 0.12) / 0.18)];
    else if (kind === 1) [ax, ay] = [1.3 * ax, 0.5 * 1.3 * ax];
    const angle = u(0, Math.PI);
    const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
    const coreScale = u(0.3, 0.6);
    const soft = u(0.04, 0.12);
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        const [dx, dy] = [x + 0.5 - cx, y + 0.5 - cy];
        const r = Math.hypot((dx * cos + dy * sin) / ax, (-dx * sin + dy * cos) / ay); // 1 on the ellipse's edge
        const inLesion = Math.min(1, Math.max(0, (1 - r) / soft + 0.5));
        const inCore = Math.min(1, Math.max(0, (coreScale - r) / soft + 0.5));
        const vignette = 1 - 0.25 * ((x / res - 0.5) ** 2 + (y / res - 0.5) ** 2);
        for (let c = 0; c < 3; c++) {
          const v = (skin[c]! * vignette * (1 - inLesion) + inLesion * (lesion[c]! * (1 - inCore) + core[c]! * inCore)) + 4 * normal(rng);
          out[((i * res + y) * res + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
        }
      }
    }
  }
  return out;
}

/** The kinds `lesionImages` draws for labels 0 and 1. */
export const LESION_KINDS = ['small, round and light', 'large, elongated and dark'] as const;

/** uint8 images [n, res, res, 3] averaged down by `factor` in each direction, in [0, 1]: [n, (res/factor)^2 * 3]. */
export function downsampled(images: Uint8Array, n: number, res: number, factor: number): Float32Array {
  const r = res / factor;
  const out = new Float32Array(n * r * r * 3);
  const scale = 1 / (255 * factor * factor);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        for (let c = 0; c < 3; c++) {
          const to = ((i * r + Math.floor(y / factor)) * r + Math.floor(x / factor)) * 3 + c;
          out[to] = out[to]! + images[((i * res + y) * res + x) * 3 + c]! * scale;
        }
      }
    }
  }
  return out;
}

/**
 * The sliced Wasserstein-1 distance between two sets of n vectors of d values: the mean, over
 * `directions` random unit directions (from `seed`: the same for every pair compared), of the mean
 * absolute difference between the two sets' sorted projections.
 */
export function slicedWasserstein(a: Float32Array, b: Float32Array, n: number, d: number, directions = 256, seed = 99): number {
  if (a.length !== n * d || b.length !== n * d) throw new Error('slicedWasserstein: sets of different sizes');
  const rng = new Prng(seed);
  const dir = new Float64Array(d);
  const [pa, pb] = [new Float64Array(n), new Float64Array(n)];
  let total = 0;
  for (let k = 0; k < directions; k++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += (dir[j] = normal(rng)) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) {
      let sa = 0;
      let sb = 0;
      for (let j = 0; j < d; j++) {
        sa += a[i * d + j]! * dir[j]!;
        sb += b[i * d + j]! * dir[j]!;
      }
      pa[i] = sa / norm;
      pb[i] = sb / norm;
    }
    pa.sort();
    pb.sort();
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(pa[i]! - pb[i]!);
    total += s / n;
  }
  return total / directions;
}

