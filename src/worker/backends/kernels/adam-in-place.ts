/**
 * Adam's update of one variable on WebGPU as one dispatch that rewrites the weight and its two
 * moments where they lie (issue 5: "the Adam update ... one fused kernel").
 *
 * ./adam.ts's programs go through tfjs's program runner, which gives every program one new output
 * buffer and no other writable binding: the update took three dispatches per variable (new value,
 * new m, new v), three pooled buffers and three `assign`s. A DCGAN has about 24 variables, so some
 * 70 of a step's few hundred dispatches were Adam's, and a WGAN-GP critic updated five times per step
 * many more; on a GPU, where a step at batch 64 is bound by the processor's enqueueing, each costs
 * tens of microseconds of CPU time. Here an `InPlaceProgram` (./in-place.ts, which says when an update
 * may be in place and what becomes of reads and CPU copies) binds the weight, m and v read-write, the
 * gradient and tfjs's accumulated betas read-only; the arithmetic is ./adam.ts's, in its order. Where
 * the update may not be in place, `update` returns false and the caller runs the three programs. After
 * a step's updates, both accumulated beta powers advance in one more such dispatch
 * (`advanceBetaPowers`, where tfjs ran two Multiply programs).
 *
 * GAN_AUGMENT_IN_PLACE=0 (or false / off) keeps the three programs, for comparisons.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { InPlaceProgram, type InPlaceBackendInternals, type InPlaceStats } from './in-place';

/** Adam's constants for one update, as ./adam.ts passes them (1 - beta computed in double, then rounded). */
export interface AdamConstants {
  beta1: number; beta2: number; c1: number; c2: number; lr: number; eps: number;
}

const WORKGROUP = 256;
/** Workgroups per dispatch at most; threads loop over the rest (as ./adam.ts). */
const MAX_WORKGROUPS = 16384;
/** Distinct constant blocks (learning rates x sizes) kept as uniform buffers; past it, the three programs. */
const MAX_UNIFORM_BUFFERS = 512;

/** The update, with ./adam.ts's operations in its order (which are tfjs's AdamOptimizer's). */
const SHADER = `
struct Constants { beta1 : f32, beta2 : f32, c1 : f32, c2 : f32, lr : f32, eps : f32, size : u32, threads : u32 };
@group(0) @binding(0) var<storage, read_write> w : array<f32>;
@group(0) @binding(1) var<storage, read_write> m : array<f32>;
@group(0) @binding(2) var<storage, read_write> v : array<f32>;
@group(0) @binding(3) var<storage, read> g : array<f32>;
@group(0) @binding(4) var<storage, read> accB1 : array<f32>;
@group(0) @binding(5) var<storage, read> accB2 : array<f32>;
@group(0) @binding(6) var<uniform> k : Constants;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  let oneMinusB1 = 1.0 - accB1[0];
  let oneMinusB2 = 1.0 - accB2[0];
  for (var i = id.x; i < k.size; i = i + k.threads) {
    let gi = g[i];
    let m1 = m[i] * k.beta1 + gi * k.c1;
    let v1 = v[i] * k.beta2 + (gi * gi) * k.c2;
    let mHat = m1 / oneMinusB1;
    let vHat = v1 / oneMinusB2;
    m[i] = m1;
    v[i] = v1;
    w[i] = (mHat / (sqrt(vHat) + k.eps)) * (-k.lr) + w[i];
  }
}
`;

/** Both accumulated beta powers advanced, as tfjs's mul(accBeta, beta): one float32 product each. */
const BETA_POWERS_SHADER = `
struct Betas { beta1 : f32, beta2 : f32, unused0 : u32, unused1 : u32 };
@group(0) @binding(0) var<storage, read_write> accB1 : array<f32>;
@group(0) @binding(1) var<storage, read_write> accB2 : array<f32>;
@group(0) @binding(2) var<uniform> k : Betas;
@compute @workgroup_size(1)
fn main() {
  accB1[0] = accB1[0] * k.beta1;
  accB2[0] = accB2[0] * k.beta2;
}
`;

export type AdamInPlaceStats = InPlaceStats;

/** The in-place update on one backend; owns its pipeline, uniform buffers and bind groups (`dispose`). */
export class AdamInPlace {
  private readonly program: InPlaceProgram;
  private readonly powers: InPlaceProgram;

  constructor(readonly backend: InPlaceBackendInternals) {
    this.program = new InPlaceProgram(backend, SHADER, 'Adam', MAX_UNIFORM_BUFFERS);
    this.powers = new InPlaceProgram(backend, BETA_POWERS_SHADER, 'Adam', 8);
  }

  /** The variables' updates. */
  get stats(): AdamInPlaceStats {
    return this.program.stats;
  }

  /** The beta powers' updates. */
  get betaPowerStats(): AdamInPlaceStats {
    return this.powers.stats;
  }

  /** Every dispatch of ours recorded so far (variables' and beta powers' updates). */
  get dispatches(): number {
    return this.program.stats.inPlace + this.powers.stats.inPlace;
  }

  /**
   * value, m and v updated in place from `gradient` (float32, value's size) in one dispatch; false
   * (nothing recorded) where that would not be right or possible, for the caller's other path.
   */
  update(value: Tensor, m: Tensor, v: Tensor, gradient: Tensor, accBeta1: Tensor, accBeta2: Tensor, k: AdamConstants): boolean {
    const bytes = new ArrayBuffer(32);
    new Float32Array(bytes, 0, 6).set([k.beta1, k.beta2, k.c1, k.c2, k.lr, k.eps]);
    new Uint32Array(bytes, 24, 2).set([value.size, workgroups(value.size) * WORKGROUP]);
    return this.program.run([value, m, v], [gradient, accBeta1, accBeta2], bytes, workgroups(value.size));
  }

  /**
   * tfjs's accumulated beta powers advanced after a step's updates (accBeta *= beta, both) in one
   * dispatch instead of two Multiply programs; false (nothing recorded) where not in place.
   */
  advanceBetaPowers(accBeta1: Tensor, accBeta2: Tensor, beta1: number, beta2: number): boolean {
    const bytes = new ArrayBuffer(16);
    new Float32Array(bytes, 0, 2).set([beta1, beta2]);
    return this.powers.run([accBeta1, accBeta2], [], bytes, 1);
  }

  /** Submits what was recorded with our buffers, then destroys the uniform buffers. */
  dispose(): void {
    this.program.dispose();
    this.powers.dispose();
  }
}

function workgroups(size: number): number {
  return Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(size / WORKGROUP)));
}
