/**
 * A cheaper CPU side for tfjs's WebGPU dispatches (issue 5: "per-op dispatch overhead").
 *
 * On a real GPU a DCGAN training step is bound by the CPU: tfjs-backend-webgpu 4.22 spends most of
 * a step's enqueue time in three Dawn calls it makes for every one of the ~770 programs a step runs:
 *   - createBindGroup (a new bind group per dispatch; 43 us each on lavapipe, the largest single cost),
 *   - a pooled uniform buffer acquired and written (writeBuffer) per dispatch,
 *   - and, for every tensor made from CPU values (about 115 scalars per step: loss constants and the
 *     scalars of tfjs's gradient functions), a new mapped staging buffer, a copy, and the end of the
 *     current compute pass.
 *
 * installFastDispatch() replaces methods of the backend instance (and of its buffer pool):
 *   - recordAndSubmit: the uniform bytes are laid out exactly as tfjs's makeUniforms does; each
 *     distinct content gets one immutable uniform buffer, and bind groups are cached by (pipeline,
 *     output and input buffers, uniform content). A training step runs the same programs on the same
 *     pooled buffers (tfjs's BufferManager hands them out last-in first-out) step after step, so from
 *     the second step nearly every dispatch reuses its bind group. Bind groups bind buffers, not
 *     their contents, so a buffer that changed hands in the pool is still bound correctly.
 *   - uploadToGPU: CPU values are written with queue.writeBuffer into a pooled buffer (no staging
 *     buffer, no copy command, the compute pass stays open). This is safe because a pooled buffer is
 *     never referenced by commands not yet submitted: tfjs defers releasing buffers that the open
 *     command encoder uses until it is submitted (commandQueueOwnedIds).
 *   - bufferManager.acquireBuffer: the free buffer with the lowest id, not the last one released
 *     (see there), so that a step's buffers, and so its bind groups, repeat;
 *   - submitQueue and bufferManager.dispose: uniform buffers dropped from the bounded cache are
 *     destroyed after the next submit (commands already recorded may still use them), and all of
 *     them when the pool is disposed.
 * Everything else (timestamp queries under tf.profile, textures, parallel compilation, other
 * dtypes) goes to tfjs's own methods.
 *
 * GAN_AUGMENT_FAST_DISPATCH=0 (or false / off) leaves tfjs's methods in place (for comparisons).
 */
import { env, util } from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { switchOn } from './switches';

/* Minimal shapes of the WebGPU objects we touch (the globals come from Dawn at run time). */
export interface GpuBuffer {
  readonly size: number;
  destroy(): void;
}
export interface GpuBindGroupLayout {
  readonly __brand?: 'layout';
}
export interface GpuBindGroup {
  readonly __brand?: 'bindGroup';
}
export interface GpuPipeline {
  getBindGroupLayout(index: number): GpuBindGroupLayout;
}
export interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(i: number, g: GpuBindGroup): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}
export interface GpuDevice {
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createBindGroup(d: { layout: GpuBindGroupLayout; entries: Array<{ binding: number; resource: unknown }> }): GpuBindGroup;
}
export interface GpuQueue {
  writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferLike | ArrayBufferView, dataOffset?: number, size?: number): void;
}
export interface TensorData {
  values: ArrayLike<number> | null;
  dtype: string;
  shape: number[];
  resource: unknown;
  /** Tensors holding this data (tfjs counts them per dataId). */
  refCount: number;
}
interface Program {
  pipeline: unknown;
  pixelsOpType?: unknown;
  size?: boolean;
  outputShape: number[];
  outputComponent?: number;
  dispatch: [number, number, number];
  constructor: { name: string };
}
type Uniform = { type: string; data: number[] };

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend this module reads and replaces. */
export interface WebGpuBackendInternals {
  device: GpuDevice;
  queue: GpuQueue;
  tensorMap: { get(dataId: unknown): TensorData | undefined };
  bufferManager: {
    freeBuffers: Map<string, GpuBuffer[]>;
    acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GpuBuffer;
    dispose(): void;
  };
  commandQueueOwnedIds: WeakSet<object>;
  activeTimers: unknown;
  computePassEncoder: GpuPass | null;
  dispatchCountInPass: number;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  tensorToBinding(t: TensorInfo): unknown;
  recordAndSubmit(program: Program, output: TensorInfo, inputs: TensorInfo[], programDefinedUniform?: Uniform[]): void;
  uploadToGPU(dataId: unknown): void;
  commandEncoder: { beginComputePass(d: object): GpuPass } | null;
}

/**
 * Records one dispatch as tfjs 4.22's recordAndSubmit does, in tfjs's open compute pass (opened if
 * none is): `owned` (the tensors' dataIds) kept out of the buffer pool until the commands are
 * submitted, and a submit every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE dispatches. For programs whose
 * pipeline and bind group are already made (the cached path below, ./kernels/in-place.ts).
 */
export function recordDispatch(
  backend: WebGpuBackendInternals,
  pipeline: GpuPipeline,
  bindGroup: GpuBindGroup,
  workgroups: readonly [number, number, number],
  owned: readonly object[],
): void {
  for (const id of owned) backend.commandQueueOwnedIds.add(id);
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  backend.dispatchCountInPass++;
  if ((env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** Counters, for tests and benchmarks. */
export interface FastDispatchStats {
  dispatches: number;
  bindGroupsCreated: number;
  bindGroupsReused: number;
  uniformBuffersCreated: number;
  uploadsWritten: number;
  /** Dispatches and uploads handed to tfjs's own methods. */
  delegated: number;
}

export interface FastDispatch {
  readonly stats: FastDispatchStats;
  /** Restores tfjs's methods and drops the caches. */
  uninstall(): void;
}

/** Bound on cached bind groups and uniform buffers; when exceeded the caches start over. */
const MAX_BIND_GROUPS = 16384;
const MAX_UNIFORM_BUFFERS = 8192;

/**
 * The uniform bytes tfjs's WebGPUBackend.makeUniforms (4.22) would write for these fields, with the
 * same alignment rules (WGSL alignof: 1 -> 4 bytes, 2 -> 8, 3..6 -> 16, and a field after a vec5/vec6
 * aligned to 16; the struct rounded up to its largest alignment).
 */
export function encodeUniforms(fields: Uniform[]): ArrayBuffer {
  let offset = 0;
  let prevLength = 0;
  let maxAlign = 1;
  const offsets: number[] = [];
  for (const f of fields) {
    const n = f.data.length === 0 ? 1 : f.data.length;
    if (n > 6) throw new Error(`Unsupported ${n}D uniform`);
    let align = n === 1 ? 4 : n === 2 ? 8 : 16;
    if (prevLength === 5 || prevLength === 6) align = 16;
    maxAlign = Math.max(maxAlign, align);
    offset = Math.ceil(offset / align) * align;
    offsets.push(offset);
    offset += n * 4;
    prevLength = n;
  }
  const total = Math.ceil(offset / maxAlign) * maxAlign;
  const bytes = new ArrayBuffer(total);
  fields.forEach((f, i) => {
    const data = f.data.length === 0 ? [1] : f.data;
    const at = offsets[i]!;
    if (f.type === 'int32') new Int32Array(bytes, at, data.length).set(data);
    else if (f.type === 'uint32') new Uint32Array(bytes, at, data.length).set(data);
    else new Float32Array(bytes, at, data.length).set(data);
  });
  return bytes;
}

/** The uniform fields recordAndSubmit builds for a program (tfjs 4.22's order). */
function uniformFields(program: Program, output: TensorInfo, inputs: TensorInfo[], programDefined?: Uniform[]): Uniform[] {
  const fields: Uniform[] = [
    { type: 'float32', data: [NaN] },
    { type: 'float32', data: [Infinity] },
  ];
  for (const t of inputs) {
    fields.push({ type: 'int32', data: t.shape }, { type: 'int32', data: util.computeStrides(t.shape) });
  }
  fields.push({ type: 'int32', data: output.shape }, { type: 'int32', data: util.computeStrides(output.shape) });
  if (program.size) {
    const size = util.sizeFromShape(program.outputShape);
    fields.push({ type: 'int32', data: [program.outputComponent ? size / program.outputComponent : size] });
  }
  if (programDefined) fields.push(...programDefined);
  return fields;
}

/** Whether the fast path is wanted (GAN_AUGMENT_FAST_DISPATCH=0 / false / off turns it off). */
export function fastDispatchRequested(value = process.env.GAN_AUGMENT_FAST_DISPATCH): boolean {
  return switchOn(value);
}

/** Installs the cached dispatch path on a WebGPU backend instance (see the header); `limits` for tests. */
export function installFastDispatch(
  backend: WebGpuBackendInternals,
  limits: { bindGroups?: number; uniformBuffers?: number } = {},
): FastDispatch {
  const maxBindGroups = limits.bindGroups ?? MAX_BIND_GROUPS;
  const maxUniformBuffers = limits.uniformBuffers ?? MAX_UNIFORM_BUFFERS;
  const g = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUBuffer: abstract new () => object };
  const USAGE = g.GPUBufferUsage;
  const GPUBufferClass = g.GPUBuffer;
  const originalRecord = backend.recordAndSubmit;
  const originalUpload = backend.uploadToGPU;
  const originalPoolDispose = backend.bufferManager.dispose;
  const originalSubmit = backend.submitQueue;
  const originalAcquire = backend.bufferManager.acquireBuffer;
  const stats: FastDispatchStats = {
    dispatches: 0,
    bindGroupsCreated: 0,
    bindGroupsReused: 0,
    uniformBuffersCreated: 0,
    uploadsWritten: 0,
    delegated: 0,
  };
  let nextId = 1;
  const ids = new WeakMap<object, number>();
  const idOf = (o: object): number => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = nextId++));
    return id;
  };
  const layouts = new WeakMap<object, GpuBindGroupLayout>();
  const uniformBuffers = new Map<string, { buffer: GpuBuffer; id: number; size: number }>();
  const bindGroups = new Map<string, GpuBindGroup>();
  /** Uniform buffers dropped from the cache, destroyed after the next submit. */
  const retired: GpuBuffer[] = [];
  const dropCaches = (): void => {
    bindGroups.clear();
    for (const entry of uniformBuffers.values()) retired.push(entry.buffer);
    uniformBuffers.clear();
  };
  const destroyRetired = (): void => {
    for (const buffer of retired.splice(0)) buffer.destroy();
  };

  function uniformBufferFor(bytes: ArrayBuffer): { buffer: GpuBuffer; id: number; size: number } {
    const key = new Int32Array(bytes).join(',');
    let entry = uniformBuffers.get(key);
    if (!entry) {
      if (uniformBuffers.size >= maxUniformBuffers) dropCaches();
      const buffer = backend.device.createBuffer({ size: bytes.byteLength, usage: USAGE.UNIFORM! | USAGE.COPY_DST! });
      backend.queue.writeBuffer(buffer, 0, bytes, 0, bytes.byteLength);
      entry = { buffer, id: nextId++, size: bytes.byteLength };
      uniformBuffers.set(key, entry);
      stats.uniformBuffersCreated++;
    }
    return entry;
  }

  backend.recordAndSubmit = function recordAndSubmit(program, output, inputs, programDefinedUniform) {
    const pipeline = program.pipeline as GpuPipeline | Promise<unknown>;
    if (this.activeTimers != null || program.pixelsOpType != null || pipeline instanceof Promise) {
      stats.delegated++;
      return originalRecord.call(this, program, output, inputs, programDefinedUniform);
    }
    const tensors = [output, ...inputs];
    const buffers: object[] = [];
    for (const t of tensors) {
      const resource = this.tensorMap.get(t.dataId)?.resource;
      if (!(resource instanceof GPUBufferClass)) {
        stats.delegated++;
        return originalRecord.call(this, program, output, inputs, programDefinedUniform);
      }
      buffers.push(resource);
    }
    const uniform = uniformBufferFor(encodeUniforms(uniformFields(program, output, inputs, programDefinedUniform)));
    let key = `${idOf(pipeline)}|${uniform.id}`;
    for (const b of buffers) key += `|${idOf(b)}`;
    let bindGroup = bindGroups.get(key);
    if (bindGroup) {
      stats.bindGroupsReused++;
    } else {
      let layout = layouts.get(pipeline);
      if (!layout) layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
      const entries: Array<{ binding: number; resource: unknown }> = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
      entries.push({ binding: buffers.length, resource: { buffer: uniform.buffer, offset: 0, size: uniform.size } });
      if (bindGroups.size >= maxBindGroups) bindGroups.clear();
      bindGroup = this.device.createBindGroup({ layout, entries });
      bindGroups.set(key, bindGroup);
      stats.bindGroupsCreated++;
    }
    stats.dispatches++;
    recordDispatch(this, pipeline, bindGroup, program.dispatch, tensors.map((t) => t.dataId as object));
  };

  backend.uploadToGPU = function uploadToGPU(dataId) {
    const data = this.tensorMap.get(dataId);
    if (!data || data.resource != null) return;
    const values = data.values;
    const int = data.dtype === 'int32' || data.dtype === 'bool';
    const size = 4 * util.sizeFromShape(data.shape);
    if (values == null) return originalUpload.call(this, dataId); // an output: a pooled buffer, no data
    if (size === 0 || !(int || data.dtype === 'float32')) {
      originalUpload.call(this, dataId);
      // tfjs may have recorded a copy into the new buffer: keep the buffer out of the pool until
      // that copy is submitted, so that a later writeBuffer into it cannot be overwritten by it.
      this.commandQueueOwnedIds.add(dataId as object);
      stats.delegated++;
      return;
    }
    const typed = int
      ? values instanceof Int32Array
        ? values
        : Int32Array.from(values)
      : values instanceof Float32Array
        ? values
        : Float32Array.from(values);
    const buffer = this.bufferManager.acquireBuffer(size, USAGE.STORAGE! | USAGE.COPY_SRC! | USAGE.COPY_DST!);
    this.queue.writeBuffer(buffer, 0, typed.buffer, typed.byteOffset, size);
    data.values = null;
    data.resource = buffer;
    stats.uploadsWritten++;
  };

  // Which free buffer the pool hands out: tfjs takes the last one released, so the buffers a step
  // gets depend on the order of earlier releases and differ from step to step (a bind-group cache
  // then hits about 5% of the time). Taking the oldest buffer (lowest id) of the free set instead
  // makes the assignment depend on the set alone, and a training step repeats its buffers after a
  // step or two.
  backend.bufferManager.acquireBuffer = function acquireBuffer(size, usage, mappedAtCreation, reuse = true) {
    const free = reuse ? this.freeBuffers.get(`${size}_${usage}`) : undefined;
    if (free && free.length > 1) {
      let best = free.length - 1;
      let bestId = idOf(free[best]!);
      for (let i = free.length - 2; i >= 0; i--) {
        const id = idOf(free[i]!);
        if (id < bestId) {
          best = i;
          bestId = id;
        }
      }
      const last = free.length - 1;
      [free[best], free[last]] = [free[last]!, free[best]!];
    }
    return originalAcquire.call(this, size, usage, mappedAtCreation, reuse);
  };

  // Destroying a buffer after the submit that uses it is allowed: WebGPU frees it once that work is done.
  backend.submitQueue = function submitQueue() {
    originalSubmit.call(this);
    destroyRetired();
  };

  backend.bufferManager.dispose = function dispose() {
    dropCaches();
    destroyRetired();
    return originalPoolDispose.call(this);
  };

  return {
    stats,
    uninstall() {
      // Submit what was recorded with our bind groups, then free our uniform buffers.
      if (backend.commandEncoder) {
        backend.endComputePassEncoder();
        backend.submitQueue();
      }
      backend.recordAndSubmit = originalRecord;
      backend.uploadToGPU = originalUpload;
      backend.submitQueue = originalSubmit;
      backend.bufferManager.dispose = originalPoolDispose;
      backend.bufferManager.acquireBuffer = originalAcquire;
      dropCaches();
      destroyRetired();
    },
  };
}
