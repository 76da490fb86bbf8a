/**
 * Adam's update of one variable on WebGPU as one dispatch that rewrites the weight and its two
 * moments where they lie (issue 5: "the Adam update ... one fused kernel").
 *
 * ./adam.ts's programs go through tfjs's program runner, which gives every program one new output
 * buffer and no other writable binding: the update took three dispatches per variable (new value,
 * new m, new v), three pooled buffers and three `assign`s. A DCGAN has about 24 variables, so some
 * 70 of a step's few hundred dispatches were Adam's, and a WGAN-GP critic updated five times per step
 * many more; on a GPU, where a step at batch 64 is bound by the processor's enqueueing, each costs
 * tens of microseconds of CPU time. Here one pipeline of ours binds the weight, m and v read-write,
 * the gradient and tfjs's accumulated betas read-only, and is recorded into tfjs's open compute pass
 * (as tfjs records its own: ../webgpu-dispatch.ts `recordDispatch`); the arithmetic is ./adam.ts's, in its order.
 *
 * In place is only right where nothing else sees the old values, so a variable is updated so only
 * when its data is held by that variable alone (the backend's reference count is 1: no clone,
 * reshape or other tensor shares it) and lies in a GPU buffer; otherwise `update` returns false and
 * the caller runs the three programs (after which the variable owns fresh data, so the next step is in
 * place). Values tfjs cached on the CPU after a read are dropped, and a read still in flight when the
 * update is recorded returns the values it copied (the old ones, as a read before the update should)
 * without caching them (`guardReads`).
 *
 * GAN_AUGMENT_ADAM_IN_PLACE=0 (or false / off) keeps the three programs, for comparisons.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { type GpuBindGroup, type GpuBuffer, type GpuDevice, type GpuPipeline, type WebGpuBackendInternals, recordDispatch } from '../webgpu-dispatch';

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend used here: the dispatch path's, and more. */
export interface AdamBackendInternals extends WebGpuBackendInternals {
  device: GpuDevice & {
    createShaderModule(d: { code: string }): object;
    createComputePipeline(d: { layout: 'auto'; compute: { module: object; entryPoint: string } }): GpuPipeline;
  };
  read(dataId: unknown): Promise<unknown>;
}

/** Adam's constants for one update, as ./adam.ts passes them (1 - beta computed in double, then rounded). */
export interface AdamConstants {
  beta1: number; beta2: number; c1: number; c2: number; lr: number; eps: number;
}

const WORKGROUP = 256;
/** Workgroups per dispatch at most; threads loop over the rest (as ./adam.ts). */
const MAX_WORKGROUPS = 16384;
/** Distinct constant blocks (learning rates x sizes) kept as uniform buffers; past it, the three programs. */
const MAX_UNIFORM_BUFFERS = 512;
/** Cached bind groups at most (then the cache starts over: bind groups need no destroying). */
const MAX_BIND_GROUPS = 4096;

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

/** Whether the in-place update is wanted (GAN_AUGMENT_ADAM_IN_PLACE=0 / false / off turns it off). */
export function adamInPlaceRequested(value = process.env.GAN_AUGMENT_ADAM_IN_PLACE): boolean {
  const v = value?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off');
}

/** Per backend: data updated in place, counted, so that a read begun before an update does not cache its (old) values. */
const updatesByBackend = new WeakMap<AdamBackendInternals, WeakMap<object, number>>();

/**
 * Wraps the backend's `read` once: a read during which its data was updated in place returns the
 * values it copied (those before the update) but leaves no copy of them cached on the CPU.
 */
function guardReads(backend: AdamBackendInternals): WeakMap<object, number> {
  let updates = updatesByBackend.get(backend);
  if (updates) return updates;
  const counts = new WeakMap<object, number>();
  updates = counts;
  updatesByBackend.set(backend, counts);
  const original = backend.read;
  backend.read = async function read(dataId: unknown): Promise<unknown> {
    const before = counts.get(dataId as object) ?? 0;
    const values = await original.call(this, dataId);
    const data = this.tensorMap.get(dataId);
    if ((counts.get(dataId as object) ?? 0) !== before && data && data.values === values) data.values = null;
    return values;
  };
  return counts;
}

export interface AdamInPlaceStats {
  /** Variables updated by the one in-place dispatch. */
  inPlace: number;
  /** Variables left to the three programs (shared data, not in a GPU buffer, or too many constant blocks). */
  declined: number;
}

/** The in-place update on one backend; owns its pipeline, uniform buffers and bind groups (`dispose`). */
export class AdamInPlace {
  readonly stats: AdamInPlaceStats = { inPlace: 0, declined: 0 };
  private pipeline: GpuPipeline | null = null;
  private layout: object | null = null;
  private readonly uniforms = new Map<string, { buffer: GpuBuffer; id: number }>();
  private readonly bindGroups = new Map<string, GpuBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly updates: WeakMap<object, number>;
  private disposed = false;

  constructor(readonly backend: AdamBackendInternals) {
    this.updates = guardReads(backend);
  }

  /**
   * value, m and v updated in place from `gradient` (float32, value's size) in one dispatch; false
   * (nothing recorded) where that would not be right or possible, for the caller's other path.
   */
  update(value: Tensor, m: Tensor, v: Tensor, gradient: Tensor, accBeta1: Tensor, accBeta2: Tensor, k: AdamConstants): boolean {
    if (this.disposed) throw new Error('Adam: the in-place update was disposed');
    const b = this.backend;
    const owned = [value, m, v];
    const all = [...owned, gradient, accBeta1, accBeta2];
    // Only data that its variable alone holds may change under it; every tensor float32.
    for (const t of owned) if ((b.tensorMap.get(t.dataId)?.refCount ?? 0) !== 1) return this.decline();
    for (const t of all) {
      if (t.dtype !== 'float32') return this.decline();
      b.uploadToGPU(t.dataId);
    }
    const buffers = all.map((t) => b.tensorMap.get(t.dataId)?.resource);
    const GpuBufferClass = (globalThis as unknown as { GPUBuffer?: abstract new () => object }).GPUBuffer;
    if (!GpuBufferClass || !buffers.every((r) => r instanceof GpuBufferClass)) return this.decline();
    const uniform = this.uniformFor(k, value.size);
    if (!uniform) return this.decline();

    const pipeline = this.pipelineFor();
    let key = `${uniform.id}`;
    for (const buffer of buffers) key += `|${this.idOf(buffer as object)}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      const entries = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
      entries.push({ binding: buffers.length, resource: { buffer: uniform.buffer } });
      bindGroup = b.device.createBindGroup({ layout: this.layout!, entries });
      this.bindGroups.set(key, bindGroup);
    }
    // The GPU is about to hold the only current values: drop CPU copies, and keep reads begun earlier
    // from caching theirs (before the dispatch, whose batch may submit).
    for (const t of owned) {
      b.tensorMap.get(t.dataId)!.values = null;
      this.updates.set(t.dataId as object, (this.updates.get(t.dataId as object) ?? 0) + 1);
    }
    recordDispatch(b, pipeline, bindGroup, [workgroups(value.size), 1, 1], all.map((t) => t.dataId as object));
    this.stats.inPlace++;
    return true;
  }

  /** Submits what was recorded with our buffers, then destroys the uniform buffers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.uniforms.size > 0 && this.backend.commandEncoder) {
      this.backend.endComputePassEncoder();
      this.backend.submitQueue();
    }
    for (const { buffer } of this.uniforms.values()) buffer.destroy();
    this.uniforms.clear();
    this.bindGroups.clear();
  }

  private decline(): false {
    this.stats.declined++;
    return false;
  }

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  private pipelineFor(): GpuPipeline {
    if (!this.pipeline) {
      const { device } = this.backend;
      this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
      this.layout = this.pipeline.getBindGroupLayout(0);
    }
    return this.pipeline;
  }

  /** The constants as an immutable uniform buffer, one per distinct content; null past MAX_UNIFORM_BUFFERS. */
  private uniformFor(k: AdamConstants, size: number): { buffer: GpuBuffer; id: number } | null {
    const bytes = new ArrayBuffer(32);
    new Float32Array(bytes, 0, 6).set([k.beta1, k.beta2, k.c1, k.c2, k.lr, k.eps]);
    new Uint32Array(bytes, 24, 2).set([size, workgroups(size) * WORKGROUP]);
    const key = new Int32Array(bytes).join(',');
    let entry = this.uniforms.get(key);
    if (!entry) {
      if (this.uniforms.size >= MAX_UNIFORM_BUFFERS) return null;
      const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
      const buffer = this.backend.device.createBuffer({ size: 32, usage: usage.UNIFORM! | usage.COPY_DST! });
      this.backend.queue.writeBuffer(buffer, 0, bytes);
      entry = { buffer, id: this.nextId++ };
      this.uniforms.set(key, entry);
    }
    return entry;
  }
}

function workgroups(size: number): number {
  return Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(size / WORKGROUP)));
}
