/**
 * Deterministic randomness. Every random draw in training takes a seed derived from
 * (run seed, step, purpose), never from a global generator, so that resuming from a checkpoint at
 * step N replays exactly what an uninterrupted run would have drawn: the only RNG state is the run
 * seed and the step counter, both stored in the checkpoint.
 */

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Final mix of murmur3: spreads nearby inputs over all 32 bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seed in [1, 2^31 - 1] from a run seed and any parts (step, purpose, index...). Positive and
 * below 2^31 so that it is safe as a tfjs op seed (which seedrandom stringifies).
 */
export function hashSeed(runSeed: number, ...parts: (string | number)[]): number {
  let h = fmix32(fnv1a(String(runSeed >>> 0)));
  for (const p of parts) h = fmix32(fnv1a(`|${p}`, h));
  return (h % 0x7ffffffe) + 1;
}

/** mulberry32: a tiny seeded PRNG with floats in [0, 1). */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A Prng for one purpose at one step of a run. */
export function prngFor(runSeed: number, step: number, purpose: string): Prng {
  return new Prng(hashSeed(runSeed, step, purpose));
}
