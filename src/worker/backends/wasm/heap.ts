/**
 * tfjs-backend-wasm 4.22's heap, as our kernels that work in it directly see it: where a tensor lies,
 * how to allocate one without filling it, the module's memory and thread count, and our SIMD
 * kernels and helpers over that memory (./simd/).
 */
import { tf } from '../tf';
import { type KernelThreads, currentKernelThreadsFor, kernelThreadsFor } from './simd/kernel-threads';
import { kernelThreadCount } from './threads';

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
  /** Our kernels over this memory, on as many threads as the module has unless set otherwise (`kernelThreadCount`; started on first use). */
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
      return currentKernelThreadsFor(memory) ?? kernelThreadsFor(memory, kernelThreadCount(backend.wasm.tfjs?.getThreadsCount?.() ?? 1));
    },
    at: (t) => backend.dataIdMap.get(t.dataId).memoryOffset,
  };
}

/** A float32 tensor in the heap, not filled (every value must be written), owned by the engine (tidy frees it). */
export function uninitialised<R extends tf.Rank>(heap: Heap, shape: number[]): tf.Tensor<R> {
  return tf.engine().makeTensorFromTensorInfo(heap.backend.makeOutput(shape, 'float32')) as tf.Tensor<R>;
}

/** A convolution over an image zero-padded to hp x wp (NHWC), as the gather-GEMM reads it. */
export interface PaddedConv {
  n: number; ci: number; oh: number; ow: number; kw: number; sh: number; sw: number;
  hp: number; wp: number;
}

/**
 * Writes the gather-GEMM's two tables for a convolution over the padded image at byte address
 * `xPad`, as int32 at byte addresses: at `corners`, each output pixel's receptive-field corner
 * (n, oh, ow in order; byte addresses), and at `offsets`, each filter row's (kh, kw, ci) byte offset
 * from its corner, `count` of them (rows past the filter's `rows` repeat the last: the kernel computes
 * two at a time). `i32` views the heap after every allocation (they may grow it).
 */
export function writeConvTables(i32: Int32Array, g: PaddedConv, xPad: number, corners: number, offsets: number, rows: number, count = rows): void {
  // Every field read once, before the loops: with g's fields read in the innermost loop the tables
  // of DCGAN-64's D1 at batch 16 took 0.04 ms here and 0.09 ms for the filter gradient, 0.03 ms
  // each with them hoisted (build machine, 2026-11-28).
  const { n, oh, ow, ci, kw, sh, sw, hp, wp } = g;
  const colBytes = 4 * sw * ci;
  let c = corners / 4;
  for (let img = 0; img < n; img++) {
    for (let r = 0; r < oh; r++) {
      const start = xPad + 4 * (img * hp + r * sh) * wp * ci;
      for (let col = 0; col < ow; col++) i32[c++] = start + col * colBytes;
    }
  }
  // Filter row (kh, kw, ci) lies kh rows below the corner and kw * Ci + ci values to its right.
  for (let k = 0; k < count; k++) {
    const r = Math.min(k, rows - 1);
    i32[offsets / 4 + k] = 4 * (Math.floor(r / (kw * ci)) * wp * ci + (r % (kw * ci)));
  }
}

/**
 * k rows per chunk of a gather-GEMM whose b is in panels (`inPanels`): a chunk of a panel is at most
 * 4,096 x 64 bytes, 256 KiB, which the L2 cache holds while every block of outputs passes over it;
 * the outputs are loaded and stored once per chunk, so most problems (K up to 4,096) take one chunk
 * and keep their sums in registers throughout. Chunks of 256 rows (16 KiB, for the L1 cache) were
 * slower: 2-7% per pass on DCGAN-64's D2-D4 at batch 16 and 64, and whole DCGAN-64 steps 6-10%
 * (build machine, 2 threads, alternated in one process, docs/PERFORMANCE.md); 8,192 was no faster
 * than 4,096, and slower on the filter gradient at batch 64 (K 16,384) on one thread.
 */
export const PANEL_CHUNK_ROWS = 4096;

/**
 * Floats of scratch that `inPanels` needs for b [rows, cols]: none for 16 columns (one panel
 * already); else the panels and 16 floats of room to start them on a cache line.
 */
export function panelFloats(rows: number, cols: number): number {
  return cols === 16 ? 0 : rows * cols + 16;
}

/**
 * `at` rounded up to a multiple of 64 (a cache line): tfjs-backend-wasm's allocations are aligned
 * to 8 bytes only, and a 16-byte load from an address 8 past a multiple of 16 straddles two cache
 * lines once in every four.
 */
export function lineAligned(at: number): number {
  return (at + 63) & ~63;
}

/**
 * b [rows, cols] (row-major, at byte address `b`) as a gather-GEMM job reads it fastest: copied into
 * `dst` (`panelFloats` of scratch, from its first cache line) in panels of 16 columns
 * (GatherGemmJob.bPanelRows says why). The copy costs about 0.5 ms for a 4096 x 512 filter, where the
 * D4-shaped forward pass at batch 16 goes from 18.6 to 11.9 ms (docs/PERFORMANCE.md).
 */
export function inPanels(heap: Heap, b: number, rows: number, cols: number, dst: number): { b: number; bPanelRows: number; chunkRows: number } {
  if (cols === 16) return { b, bPanelRows: 0, chunkRows: PANEL_CHUNK_ROWS };
  const panels = lineAligned(dst);
  heap.kernels.packPanels(b, rows, cols, panels);
  return { b: panels, bPanelRows: rows, chunkRows: PANEL_CHUNK_ROWS };
}
