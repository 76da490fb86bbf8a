/**
 * tfjs-backend-wasm 4.22's heap, as our kernels that work in it directly see it: where a tensor lies,
 * how to allocate one without filling it, the module's memory and thread count, and our SIMD
 * kernels and helpers over that memory (./simd/).
 */
import { tf } from '../tf';
import { type KernelThreads, kernelThreadsFor } from './simd/kernel-threads';

/** What we use of BackendWasm. */
export interface WasmHeap {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory }; tfjs?: { getThreadsCount?: () => number } };
}

export interface Heap {
  backend: WasmHeap;
  /** The module's memory: the threaded build keeps it as `wasmMemory`, the single-threaded one exports it. */
  memory: WebAssembly.Memory;
  /** Our kernels over this memory, on as many threads as the module has (started on first use). */
  readonly kernels: KernelThreads;
  /** A tensor's byte address in the heap. */
  at(t: { dataId: object }): number;
}

/** The active backend's heap, or null when the backend is not WebAssembly. */
export function activeHeap(): Heap | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmHeap;
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) return null;
  return {
    backend,
    memory,
    // A getter: a caller that only asks where tensors lie does not start the worker threads.
    get kernels() {
      return kernelThreadsFor(memory, backend.wasm.tfjs?.getThreadsCount?.() ?? 1);
    },
    at: (t) => backend.dataIdMap.get(t.dataId).memoryOffset,
  };
}

/** A float32 tensor in the heap, not filled (every value must be written), owned by the engine (tidy frees it). */
export function uninitialised<R extends tf.Rank>(heap: Heap, shape: number[]): tf.Tensor<R> {
  return tf.engine().makeTensorFromTensorInfo(heap.backend.makeOutput(shape, 'float32')) as tf.Tensor<R>;
}
