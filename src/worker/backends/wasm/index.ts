/**
 * The WebAssembly backend (tfjs-backend-wasm 4.22: XNNPACK, SIMD) made able to train our GANs on the
 * processor, for computers without a usable GPU (issue 5: "a CPU training path worth offering").
 * Measured on the 2-core build machine, DCGAN-32 batch 16, one thread: 379-425 ms per step, where
 * WebGPU through Mesa's lavapipe (a CPU Vulkan driver) takes 2,675 ms and PyTorch 1.13 on the CPU
 * 462-468 ms, in the same command (docs/PERFORMANCE.md). The kernels it lacks or runs slowly are ours:
 *   Conv2DBackpropFilter  missing in 4.22 (no conv layer could train): ./conv2d-backprop-filter.ts
 *                         (our own SIMD kernel on our own worker threads sharing the heap: ./simd/;
 *                         4x4 filters of stride 2 by Winograd's F(2x2, 2x2) or F(4x4, 2x2) where
 *                         they pay: ./winograd.ts)
 *   UnsortedSegmentSum    missing in 4.22 (Gather's gradient: the conditional models' label
 *                         embeddings): ./unsorted-segment-sum.ts
 *   Conv2DBackpropInput   replaced: 4.22's is a plain loop, 60% of a step: ./conv2d-backprop-input.ts
 *                         (4x4 filters of stride 2 by F(2x2, 2x2) or F(4x4, 2x2) where they pay:
 *                         ./winograd.ts)
 *   Conv2D, FusedConv2D   wrapped: our SIMD kernel where it applies (no filter packing at each
 *                         step, as XNNPACK does): ./conv2d.ts; 4x4 filters of stride 2 by
 *                         Winograd's F(2x2, 2x2) or F(4x4, 2x2) where they pay: ./winograd.ts
 *   Tile                  replaced: 4.22's is a per-element loop: ./tile.ts
 *   Identity              replaced: 4.22's copies; ours shares the data (tfjs clones what each op
 *                         saves for its backward pass): ./identity.ts
 *   GatherV2              replaced: 4.22's computes each element's index; ours copies blocks: ./gather.ts
 *   LeakyRelu             replaced: 4.22's LeakyRelu and Greater are scalar loops; ours
 *                         multiplies by step(x) * (1 - alpha) + alpha, bit-exact: ./leaky-relu.ts
 *                         (its gradient the same way: ../gradients.ts)
 *   Add, Sub, Multiply, RealDiv, ...  wrapped: 4.22 broadcasts a per-channel operand 60x slower
 *                         than it combines two same-shape ones; ours repeats it first: ./broadcast.ts
 *   Sum, Mean             wrapped: over leading axes (per channel) ours sums the columns in place;
 *                         4.22 transposes first: ./reduce.ts
 *   BatchMatMul           wrapped: a transposed operand is transposed first, so that XNNPACK's fast
 *                         path runs (4.22 loops in scalar code): ./matmul.ts
 *   Tanh                  wrapped: 4.22's is a scalar loop over tanhf; ours one SIMD pass, within
 *                         2 ulp of tanh: ./tanh.ts
 * Threads: tfjs does not start its multi-threaded build under Node; ./threads.ts does, with one
 * thread per logical processor (at most 8), and falls back to tfjs's single-threaded start when it
 * cannot (GAN_AUGMENT_WASM_THREADS=1 asks for that).
 */
import type * as WasmModule from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf';
import { existingBackend, replaceBackendInstance } from '../replace';
import { BROADCAST_KERNELS, channelBroadcastKernel } from './broadcast';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter';
import { clearInputGradFilterCache, conv2dBackpropInputKernel } from './conv2d-backprop-input';
import { conv2dKernel, fusedConv2dKernel } from './conv2d';
import { gatherV2Kernel } from './gather';
import { identityKernel } from './identity';
import { leakyReluKernel } from './leaky-relu';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul';
import { fusedBatchNormKernel } from './batchnorm';
import { meanKernel, sumKernel } from './reduce';
import { disposeKernelThreads } from './simd/kernel-threads';
import { type ThreadedModule, type ThreadedStartOptions, createThreadedModule, endIdleThreads, terminateThreads, unrefThreads, wasmThreadCount } from './threads';
import { tanhKernel } from './tanh';
import { tileKernel } from './tile';
import { unsortedSegmentSumKernel } from './unsorted-segment-sum';

export { clearInputGradFilterCache };

/** Ours, registered for 'wasm' over the backend's own where it has one. */
const WASM_KERNELS: ReadonlyArray<[string, tf.KernelFunc]> = [
  ['Conv2DBackpropFilter', conv2dBackpropFilterKernel],
  ['UnsortedSegmentSum', unsortedSegmentSumKernel],
  ['Conv2DBackpropInput', conv2dBackpropInputKernel],
  ['Tile', tileKernel],
  ['Identity', identityKernel],
];

/** Ours over the backend's own, which they call where they do not apply (given as `original`). */
const WRAPPING_KERNELS: ReadonlyArray<[string, (original: tf.KernelFunc) => tf.KernelFunc]> = [
  ['Conv2D', conv2dKernel],
  ['FusedConv2D', fusedConv2dKernel],
  ['GatherV2', gatherV2Kernel],
  ['LeakyRelu', leakyReluKernel],
  ['Sum', sumKernel],
  ['Mean', meanKernel],
  ['BatchMatMul', batchMatMulKernel],
  ['_FusedMatMul', fusedMatMulKernel],
  ['FusedBatchNorm', fusedBatchNormKernel],
  ['Tanh', tanhKernel],
  ...BROADCAST_KERNELS.map((name): [string, (original: tf.KernelFunc) => tf.KernelFunc] => [name, channelBroadcastKernel]),
];
const wrappers = new Map<string, tf.KernelFunc>();

function installWasmKernels(): void {
  for (const [kernelName, kernelFunc] of WASM_KERNELS) {
    if (tf.getKernel(kernelName, 'wasm')?.kernelFunc === kernelFunc) continue;
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  for (const [kernelName, wrap] of WRAPPING_KERNELS) {
    const current = tf.getKernel(kernelName, 'wasm');
    if (!current || current.kernelFunc === wrappers.get(kernelName)) continue;
    const kernelFunc = wrap(current.kernelFunc);
    wrappers.set(kernelName, kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
    // The backend's setup (its C functions bound for `original`) still runs for each new module.
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc, setupFunc: current.setupFunc, disposeFunc: current.disposeFunc });
  }
}

export interface WasmStart {
  simd: boolean;
  threads: number;
  /** Why the module runs on one thread where more were asked for, or null. */
  threadsFailure: string | null;
}

/** tfjs-backend-wasm's registration priority (its base.ts), kept when the backend is replaced. */
const WASM_PRIORITY = 2;
let replaceOnNextStart = false;
let threadsFailure: string | null = null;

type WasmPackage = typeof WasmModule;

type ThreadedCreator = (threads: number, options: ThreadedStartOptions) => Promise<ThreadedModule>;
let createThreaded: ThreadedCreator = createThreadedModule;

/** Tests: replaces how the threaded module is created (null: the real one). */
export function setThreadedModuleCreator(create: ThreadedCreator | null): void {
  createThreaded = create ?? createThreadedModule;
}

/** A thread of the module failed after its start: the next start replaces the module. */
function onThreadFailure(error: unknown): void {
  markWasmBackendBroken();
  process.stderr.write(`WebAssembly: a thread failed (${error instanceof Error ? error.message : String(error)}); the module will be replaced.\n`);
}

/**
 * The 'wasm' backend factory, registered over the package's own: the threaded module when more than
 * one thread is wanted and it starts, otherwise the package's factory (tfjs's single-threaded SIMD
 * start). Registered once; replacing a broken instance (replaceBackendInstance) reuses it.
 */
function wasmFactory(pkg: WasmPackage, tfjsFactory: () => tf.KernelBackend | Promise<tf.KernelBackend>) {
  return async (): Promise<tf.KernelBackend> => guardMalloc(await createBackend(pkg, tfjsFactory));
}

/** Tensors may not reach past this address: the last 256 MB of the 4 GB heap are for the C++ code. */
export const TENSOR_HEAP_LIMIT = 4 * 2 ** 30 - 256 * 2 ** 20;

/**
 * When the heap fills, malloc returns 0. tfjs 4.22's JavaScript then carries on with address 0 for
 * the tensor, and its C++ code with a null XNNPACK operator: memory is overwritten, and the module
 * traps, aborts, or (seen with several threads) computes for ever on garbage sizes. So tensors
 * (allocated from JavaScript, on the main thread) get at most TENSOR_HEAP_LIMIT: one that would end
 * past it fails cleanly with WasmHeapFullError (the step fails with an out-of-memory error, and the
 * module is replaced at the next start, as after any failure), and the C++ code's own, much smaller,
 * allocations (operators, packed filters) still find room.
 */
function guardMalloc(backend: tf.KernelBackend): tf.KernelBackend {
  type Alloc = { malloc(bytes: number): number; free(at: number): void };
  const module = (backend as unknown as { wasm: { asm?: Alloc; _malloc(bytes: number): number; _free(at: number): void } }).wasm;
  // Emscripten's Module._malloc replaces itself with the module's export on its first call: wrap the
  // export itself, and keep the wrapper in place.
  const malloc = module.asm?.malloc ?? module._malloc.bind(module);
  const free = module.asm?.free ?? module._free.bind(module);
  const guarded = (bytes: number): number => {
    // More than the tensor space holds never fits (and malloc's size is 32 bits): refuse without asking.
    if (bytes > TENSOR_HEAP_LIMIT) throw new WasmHeapFullError(bytes);
    const at = malloc(bytes);
    if (bytes > 0 && (at === 0 || (at >>> 0) + bytes > TENSOR_HEAP_LIMIT)) {
      if (at !== 0) free(at);
      throw new WasmHeapFullError(bytes);
    }
    return at;
  };
  Object.defineProperty(module, '_malloc', { configurable: true, get: () => guarded, set: () => {} });
  return backend;
}

/** A tensor's memory could not be allocated in the WebAssembly heap. */
export class WasmHeapFullError extends Error {
  constructor(bytes: number) {
    super(`The WebAssembly heap is full: ${bytes} bytes could not be allocated.`);
    this.name = 'WasmHeapFullError';
  }
}

async function createBackend(pkg: WasmPackage, tfjsFactory: () => tf.KernelBackend | Promise<tf.KernelBackend>): Promise<tf.KernelBackend> {
  threadsFailure = null;
  const threads = wasmThreadCount();
  if (threads > 1) {
    try {
      const module = await createThreaded(threads, { onThreadFailure });
      pkg.setThreadsCount(threads);
      try {
        const backend = new pkg.BackendWasm(module as never); // starts XNNPACK's pool of threads
        unrefThreads(module);
        endIdleThreads(module);
        return backend;
      } catch (e) {
        terminateThreads(module);
        throw e;
      }
    } catch (e) {
      threadsFailure = e instanceof Error ? e.message : String(e);
    }
  }
  return tfjsFactory();
}

let ourFactory: (() => Promise<tf.KernelBackend>) | null = null;

/**
 * Puts our factory in place of the package's. Only while no instance exists (tfjs keeps an instance
 * under its name); otherwise dropWasmModule does it when it drops the instance.
 */
function installWasmFactory(pkg: WasmPackage): void {
  if (ourFactory && tf.findBackendFactory('wasm') === ourFactory) return;
  const tfjsFactory = tf.findBackendFactory('wasm');
  if (!tfjsFactory) throw new Error('the WebAssembly backend did not register');
  ourFactory ??= wasmFactory(pkg, tfjsFactory);
  if (existingBackend('wasm')) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', ourFactory, WASM_PRIORITY);
}

/**
 * The WebAssembly module failed in a way that leaves it unusable or untrustworthy (its heap full:
 * malloc returned 0 inside a kernel and memory near address 0 may have been written; or it aborted).
 * The next `startWasmBackend` replaces it with a fresh module.
 */
export function markWasmBackendBroken(): void {
  replaceOnNextStart = true;
}

/*
 * Emscripten's Node glue adds process listeners for each module it creates ('uncaughtException',
 * 'unhandledRejection'), and they keep the whole module, its heap included (up to 4 GB), alive. The
 * ones added with the current module are removed when it is replaced.
 */
const MODULE_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Listener = (...args: unknown[]) => void;
/** Emscripten 3's Node glue: `function (ex) { if (!(ex instanceof ExitStatus)) throw ex; }` and `function (reason) { throw reason; }` (minified in the threaded build: `function(reason){throw reason}`). */
const EMSCRIPTEN_LISTENER = /ExitStatus|^function ?\(reason\) ?\{ ?throw reason;? ?\}$/;
let moduleListeners: Array<[(typeof MODULE_EVENTS)[number], Listener]> = [];

function processListeners(): Map<string, Set<Listener>> {
  return new Map(MODULE_EVENTS.map((ev) => [ev, new Set((process as NodeJS.EventEmitter).listeners(ev) as Listener[])]));
}

/**
 * Loads tfjs-backend-wasm, installs our kernels and makes 'wasm' the active backend; a module that
 * failed before (`markWasmBackendBroken`) or no longer computes is replaced by a fresh one first.
 */
export async function startWasmBackend(): Promise<WasmStart> {
  // Importing the package registers the backend and its kernels; ours then go over them.
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  installWasmFactory(wasm);
  installWasmKernels();
  if (existingBackend('wasm') && (replaceOnNextStart || !(await usable()))) dropWasmModule();
  replaceOnNextStart = false;
  await activateWasm();
  return { simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')), threads: wasm.getThreadsCount(), threadsFailure };
}

/** Drops the current module: its cached filters, the tfjs backend instance, its process listeners. */
function dropWasmModule(): void {
  clearInputGradFilterCache(true); // its tensors live in the module that goes
  void disposeKernelThreads(); // our kernels' workers share its memory
  const module = (existingBackend('wasm') as { wasm?: ThreadedModule } | null)?.wasm;
  replaceBackendInstance('wasm', WASM_PRIORITY, ourFactory ?? undefined);
  terminateThreads(module); // BackendWasm.dispose does too, unless the broken module threw first
  for (const [ev, fn] of moduleListeners) (process as NodeJS.EventEmitter).off(ev, fn);
  moduleListeners = [];
}

/** Makes 'wasm' the active backend, noting the process listeners of a module created for it. */
async function activateWasm(): Promise<void> {
  const creating = !existingBackend('wasm');
  const before = processListeners();
  if (!(await tf.setBackend('wasm'))) throw new Error('setBackend returned false');
  await tf.ready();
  if (creating) {
    // New since the module was created, and Emscripten's by their source (others, such as a test
    // runner's, may be added while creation awaits).
    moduleListeners = MODULE_EVENTS.flatMap((ev) =>
      ((process as NodeJS.EventEmitter).listeners(ev) as Listener[])
        .filter((fn) => !before.get(ev)!.has(fn) && EMSCRIPTEN_LISTENER.test(fn.toString()))
        .map((fn) => [ev, fn] as [typeof ev, Listener]),
    );
  }
}

/** A heap larger than this is handed back after a task (a WebAssembly heap never shrinks). */
const IDLE_HEAP_LIMIT = 512 * 2 ** 20;

/**
 * After a task: a WebAssembly heap that grew past IDLE_HEAP_LIMIT (1.6 GB for DCGAN-128 at batch 16)
 * would stay that large for as long as the worker lives, since a WebAssembly memory never shrinks.
 * The module is swapped for a fresh one, so that the memory goes back to the system. Call it with no
 * tensors of the task left (the trainer disposed). Returns whether it did.
 */
export async function shrinkWasmHeap(): Promise<boolean> {
  if (wasmHeapBytes() <= IDLE_HEAP_LIMIT) return false;
  const wasActive = tf.getBackend() === 'wasm';
  dropWasmModule();
  if (wasActive) await activateWasm();
  return true;
}

/** Whether the existing 'wasm' instance still computes: 1 + 2 on it, as the active backend, is 3. */
async function usable(): Promise<boolean> {
  try {
    if (!(await tf.setBackend('wasm'))) return false;
    return tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]) === 3;
  } catch {
    return false;
  }
}

/** The size of the current WebAssembly heap in bytes (it only grows, to 4 GB at most), or 0. */
export function wasmHeapBytes(): number {
  const instance = existingBackend('wasm') as { wasm?: { HEAPU8?: Uint8Array } } | null;
  return instance?.wasm?.HEAPU8?.length ?? 0;
}
