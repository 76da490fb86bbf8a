/**
 * Programs of ours that rewrite tensors' data where it lies, on WebGPU (issue 5: fewer dispatches).
 *
 * tfjs's program runner gives every program one new output buffer and no other writable binding, so
 * an update of k tensors is k dispatches, k pooled buffers and k `assign`s. An `InPlaceProgram` is a
 * pipeline of ours whose first bindings are read-write (the tensors it updates), then read-only
 * inputs, then one uniform block; it is recorded into tfjs's open compute pass as tfjs records its own
 * (../webgpu-dispatch.ts `recordDispatch`). Users: Adam's update (./adam-in-place.ts: weight and both
 * moments in one dispatch) and batch norm's moving averages (./batchnorm-kernels.ts: mean and
 * variance in one).
 *
 * In place is only right where nothing else sees the old values, so `run` rewrites tensors only when
 * each one's data is held by that tensor alone (the backend's reference count is 1: no clone, reshape
 * or other tensor shares it) and lies in a GPU buffer; otherwise it returns false and the caller runs
 * tfjs programs instead (after which the variable owns fresh data, so the next update is in place).
 * Values tfjs cached on the CPU after a read are dropped, and a read still in flight when the update
 * is recorded returns the values it copied (the old ones, as a read before the update should) without
 * caching them (`guardReads`). The program owns its pipeline, uniform buffers and bind groups:
 * `dispose` releases them.
 *
 * GAN_AUGMENT_IN_PLACE=0 (or false / off) makes the users take tfjs's programs, for comparisons.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { type GpuBindGroup, type GpuBuffer, type GpuDevice, type GpuPipeline, type WebGpuBackendInternals, recordDispatch } from '../webgpu-dispatch';
import { switchOn } from '../switches';

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend used here: the dispatch path's, and more. */
export interface InPlaceBackendInternals extends WebGpuBackendInternals {
  device: GpuDevice & {
    createShaderModule(d: { code: string }): object;
    createComputePipeline(d: { layout: 'auto'; compute: { module: object; entryPoint: string } }): GpuPipeline;
  };
  read(dataId: unknown): Promise<unknown>;
}

/** Whether in-place updates are wanted (GAN_AUGMENT_IN_PLACE=0 / false / off turns them off). */
export function inPlaceRequested(value = process.env.GAN_AUGMENT_IN_PLACE): boolean {
  return switchOn(value);
}

/** Cached bind groups at most (then the cache starts over: bind groups need no destroying). */
const MAX_BIND_GROUPS = 4096;

/** Per backend: data updated in place, counted, so that a read begun before an update does not cache its (old) values. */
const updatesByBackend = new WeakMap<InPlaceBackendInternals, WeakMap<object, number>>();

/**
 * Wraps the backend's `read` once: a read during which its data was updated in place returns the
 * values it copied (those before the update) but leaves no copy of them cached on the CPU.
 */
function guardReads(backend: InPlaceBackendInternals): WeakMap<object, number> {
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

export interface InPlaceStats {
  /** Updates recorded in place. */
  inPlace: number;
  /** Updates left to the caller's other path (shared data, not in a GPU buffer, or too many constant blocks). */
  declined: number;
}

/** One in-place pipeline on one backend (`shader`: its entry point is `main`). */
export class InPlaceProgram {
  readonly stats: InPlaceStats = { inPlace: 0, declined: 0 };
  private pipeline: GpuPipeline | null = null;
  private layout: object | null = null;
  private readonly uniforms = new Map<string, { buffer: GpuBuffer; id: number }>();
  private readonly bindGroups = new Map<string, GpuBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private readonly updates: WeakMap<object, number>;
  private disposed = false;

  /** `maxUniformBuffers`: distinct uniform blocks kept; past it, `run` declines. */
  constructor(
    readonly backend: InPlaceBackendInternals,
    private readonly shader: string,
    private readonly what: string,
    private readonly maxUniformBuffers = 512,
  ) {
    this.updates = guardReads(backend);
  }

  /**
   * Records one dispatch of `workgroups` workgroups rewriting `owned` (bindings 0..) from `inputs`
   * (the next bindings) and the uniform block `uniform` (the last binding); every tensor float32.
   * False, with nothing recorded, where that would not be right or possible.
   */
  run(owned: Tensor[], inputs: Tensor[], uniform: ArrayBuffer, workgroups: number): boolean {
    if (this.disposed) throw new Error(`${this.what}: the in-place update was disposed`);
    const b = this.backend;
    const all = [...owned, ...inputs];
    // Only data that its tensor alone holds may change under it.
    for (const t of owned) if ((b.tensorMap.get(t.dataId)?.refCount ?? 0) !== 1) return this.decline();
    for (const t of all) {
      if (t.dtype !== 'float32') return this.decline();
      b.uploadToGPU(t.dataId);
    }
    const buffers = all.map((t) => b.tensorMap.get(t.dataId)?.resource);
    const GpuBufferClass = (globalThis as unknown as { GPUBuffer?: abstract new () => object }).GPUBuffer;
    if (!GpuBufferClass || !buffers.every((r) => r instanceof GpuBufferClass)) return this.decline();
    const block = this.uniformFor(uniform);
    if (!block) return this.decline();

    const pipeline = this.pipelineFor();
    let key = `${block.id}`;
    for (const buffer of buffers) key += `|${this.idOf(buffer as object)}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      const entries = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
      entries.push({ binding: buffers.length, resource: { buffer: block.buffer } });
      bindGroup = b.device.createBindGroup({ layout: this.layout!, entries });
      this.bindGroups.set(key, bindGroup);
    }
    // The GPU is about to hold the only current values: drop CPU copies, and keep reads begun earlier
    // from caching theirs (before the dispatch, whose batch may submit).
    for (const t of owned) {
      b.tensorMap.get(t.dataId)!.values = null;
      this.updates.set(t.dataId as object, (this.updates.get(t.dataId as object) ?? 0) + 1);
    }
    recordDispatch(b, pipeline, bindGroup, [workgroups, 1, 1], all.map((t) => t.dataId as object));
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
      this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: this.shader }), entryPoint: 'main' } });
      this.layout = this.pipeline.getBindGroupLayout(0);
    }
    return this.pipeline;
  }

  /** The block as an immutable uniform buffer, one per distinct content; null past maxUniformBuffers. */
  private uniformFor(bytes: ArrayBuffer): { buffer: GpuBuffer; id: number } | null {
    const key = new Int32Array(bytes).join(',');
    let entry = this.uniforms.get(key);
    if (!entry) {
      if (this.uniforms.size >= this.maxUniformBuffers) return null;
      const usage = (globalThis as unknown as { GPUBufferUsage: Record<string, number> }).GPUBufferUsage;
      const buffer = this.backend.device.createBuffer({ size: bytes.byteLength, usage: usage.UNIFORM! | usage.COPY_DST! });
      this.backend.queue.writeBuffer(buffer, 0, bytes);
      entry = { buffer, id: this.nextId++ };
      this.uniforms.set(key, entry);
    }
    return entry;
  }
}
