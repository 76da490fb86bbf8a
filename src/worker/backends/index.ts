/**
 * Compute backend selection for the worker process. Call `initBackend` once, before building any
 * model; the choice is process-wide (tfjs has one global engine).
 *
 *   auto: tfjs-node-gpu / tfjs-node (optional packages, not in package.json) when they load and
 *         run a test op -> WebGPU through Dawn (`webgpu` npm) when the adapter is a real GPU ->
 *         WebAssembly (./wasm) -> WebGPU on a software adapter -> the pure-JS CPU backend, with a
 *         warning.
 *   The environment variable GAN_AUGMENT_BACKEND (auto|webgpu|tensorflow|wasm|cpu) overrides the
 *   argument. On WebGPU our own WGSL kernels (./kernels, issue 5) replace some of tfjs's
 *   (GAN_AUGMENT_WGSL_KERNELS=0 keeps tfjs's own) and dispatch is cached (./webgpu-dispatch,
 *   GAN_AUGMENT_FAST_DISPATCH=0 turns it off).
 */
import { tf } from './tf';
import { registerOurKernels } from './kernels';
import { releaseMovingAverageUpdaters } from './kernels/batchnorm-kernels';
import { installLazyGradients } from './gradients';
import { existingBackend, replaceBackendInstance } from './replace';
import { type WasmStart, WasmHeapFullError, clearInputGradFilterCache, markWasmBackendBroken, shrinkWasmHeap, startWasmBackend, wasmHeapBytes } from './wasm';
import { kernelThreadCount, wasmThreadCount } from './wasm/threads';
import { fusedMultiplyAdds, minCallBytes, slicedHelpers, spinMicros } from './wasm/simd/kernel-threads';
import { type FastDispatch, type WebGpuBackendInternals, fastDispatchRequested, installFastDispatch } from './webgpu-dispatch';

export { WasmHeapFullError, markWasmBackendBroken, wasmHeapBytes };

export type BackendChoice = 'auto' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  /** tfjs backend name: 'webgpu' | 'tensorflow' | 'wasm' | 'cpu'. */
  name: 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** The device in words, for the UI and CLI. */
  device: string;
  /** Set when the choice will be slow or fell back from what was asked. */
  warning?: string;
  /** True when the device is a real GPU (not a software rasteriser / CPU). */
  isGpu: boolean;
}

export class BackendUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

const CPU_WARNING =
  'Training runs on the CPU in pure JavaScript: very slow (minutes per step at 64x64). ' +
  'Use it for tiny test runs only; a computer with a GPU trains far faster.';

let current: BackendInfo | null = null;
let fastDispatch: FastDispatch | null = null;

/** The WebGPU dispatch cache's counters (benchmarks, tests), or null when it is not installed. */
export function fastDispatchStats(): FastDispatch['stats'] | null {
  return fastDispatch?.stats ?? null;
}

/**
 * Drops what our kernels keep between calls: the WebAssembly input gradient's rearranged filters,
 * which live as long as the weights they came from. Trainer.dispose calls it, so that a finished job
 * holds no memory for its model.
 */
export function releaseKernelCaches(): void {
  clearInputGradFilterCache();
  releaseMovingAverageUpdaters();
}

/**
 * After a task, with its trainer disposed: memory the backend would keep for nothing goes back to
 * the system (a WebAssembly heap never shrinks, so a large one is swapped for a fresh module).
 * Never throws: it is housekeeping, and the next task starts a backend afresh if needed.
 */
export async function releaseIdleBackendMemory(): Promise<void> {
  if (current?.name !== 'wasm') return;
  try {
    await shrinkWasmHeap();
  } catch {
    markWasmBackendBroken(); // the next start replaces whatever is left
  }
}

/** The backend chosen by the last successful `initBackend`, or null. */
export function currentBackend(): BackendInfo | null {
  return current;
}

function readEnvChoice(): BackendChoice | null {
  const raw = process.env.GAN_AUGMENT_BACKEND?.trim().toLowerCase();
  if (!raw) return null;
  if ((BACKEND_CHOICES as readonly string[]).includes(raw)) return raw as BackendChoice;
  throw new BackendUnavailableError(
    `GAN_AUGMENT_BACKEND is "${raw}"; use one of ${BACKEND_CHOICES.join(', ')}.`,
  );
}

/**
 * Picks and initialises the backend. Throws `BackendUnavailableError` (a plain sentence) when an
 * explicitly requested backend cannot start; `auto` never throws (the CPU is always there).
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const effective = readEnvChoice() ?? choice;
  if (effective === 'auto' || effective === 'wasm') {
    try {
      wasmThreadCount(); // a bad GAN_AUGMENT_WASM_THREADS is said, not hidden behind a slower backend
      fusedMultiplyAdds(); // likewise GAN_AUGMENT_WASM_FMA
      slicedHelpers(); // and GAN_AUGMENT_WASM_SLICE_HELPERS
      kernelThreadCount(1); // and GAN_AUGMENT_WASM_KERNEL_THREADS
      minCallBytes(); // and GAN_AUGMENT_WASM_SLICE_FROM_KB
      spinMicros(); // and GAN_AUGMENT_WASM_SPIN_US
    } catch (e) {
      throw new BackendUnavailableError(message(e));
    }
  }
  installLazyGradients(); // backend-independent (the gradient registry is global)
  let info: BackendInfo;
  switch (effective) {
    case 'cpu':
      info = await initCpu();
      break;
    case 'webgpu':
      info = await initWebGpu();
      break;
    case 'tensorflow':
      info = await initTensorflow();
      break;
    case 'wasm':
      info = await initWasm();
      break;
    case 'auto':
      info = await initAuto();
      break;
  }
  current = info;
  return info;
}

/** The starters that `auto` tries, in its order; each throws BackendUnavailableError when it cannot start. */
export interface AutoStarters {
  tensorflow(): Promise<BackendInfo>;
  /** Describes the WebGPU adapter without starting tfjs's backend. */
  probeWebGpu(): Promise<{ device: string; isGpu: boolean }>;
  webgpu(): Promise<BackendInfo>;
  wasm(): Promise<BackendInfo>;
  cpu(): Promise<BackendInfo>;
}

const REAL_STARTERS: AutoStarters = {
  tensorflow: initTensorflow,
  probeWebGpu,
  webgpu: initWebGpu,
  wasm: initWasm,
  cpu: initCpu,
};

async function initAuto(): Promise<BackendInfo> {
  return chooseAutoBackend(REAL_STARTERS);
}

/**
 * `auto`'s order: tfjs-node(-gpu) when installed; else WebGPU on a real GPU; else WebAssembly on the
 * processor (about 7x faster than WebGPU through a software Vulkan driver, docs/PERFORMANCE.md); else
 * WebGPU on a software driver; else pure JavaScript. Never throws for a backend that cannot start
 * (the last resort always starts); exported with its starters as a parameter for tests.
 */
export async function chooseAutoBackend(start: AutoStarters): Promise<BackendInfo> {
  const reasons: string[] = [];
  // A backend that cannot start is skipped with its reason; any other error (such as a bad
  // GAN_AUGMENT_TFJS_FLAGS) is the user's to fix and is not hidden behind a slower backend.
  const attempt = async <T>(init: () => Promise<T>): Promise<T | null> => {
    try {
      return await init();
    } catch (e) {
      if (!(e instanceof BackendUnavailableError)) throw e;
      reasons.push(message(e));
      return null;
    }
  };
  const tensorflow = await attempt(start.tensorflow);
  if (tensorflow) return tensorflow;
  const adapter = await attempt(start.probeWebGpu);
  let gpuFailure: string | null = null;
  if (adapter?.isGpu) {
    const gpu = await attempt(start.webgpu);
    if (gpu) return gpu;
    gpuFailure = reasons[reasons.length - 1] ?? 'no reason given';
  }
  const wasm = await attempt(start.wasm);
  const wasmFailure = wasm ? null : (reasons[reasons.length - 1] ?? null);
  if (wasm) {
    // A real GPU whose WebGPU start failed: say so (with WebGPU's reason only), rather than "no GPU
    // was found".
    if (adapter?.isGpu && gpuFailure !== null) {
      const gpuName = adapter.device.replace(/^GPU: /, '').replace(/, WebGPU$/, '');
      return {
        ...wasm,
        warning:
          `This computer's graphics card (${gpuName}) was found but could not be used: ${gpuFailure} ` +
          'Training runs on the processor (WebAssembly) instead, which is much slower. Updating the graphics driver may help.',
      };
    }
    return wasm;
  }
  if (adapter && !adapter.isGpu) {
    const software = await attempt(start.webgpu);
    // Say why the usually faster WebAssembly is not in use (a broken install, for support).
    if (software) return wasmFailure ? { ...software, warning: `${software.warning ?? ''} (${wasmFailure})`.trim() } : software;
  }
  const cpu = await start.cpu();
  return { ...cpu, warning: `${cpu.warning ?? ''} (No faster backend: ${reasons.join(' ')})`.trim() };
}

const WASM_WARNING =
  'No GPU was found: training runs on the processor (WebAssembly). Small images and short runs are fine; ' +
  'a computer with a graphics card trains many times faster.';

async function initWasm(): Promise<BackendInfo> {
  let start: WasmStart;
  try {
    start = await startWasmBackend();
  } catch (e) {
    const reason = message(e) === 'setBackend returned false' ? 'its program could not be loaded; reinstalling GAN Augment may fix this' : message(e);
    throw new BackendUnavailableError(`WebAssembly failed to start (${reason}).`, { cause: e });
  }
  const kernels = start.threads > 1 ? kernelThreadCount(start.threads) : 1; // one thread: our kernels have no pool
  const threads = (start.threads === 1 ? '1 thread' : `${start.threads} threads`) + (kernels !== start.threads ? ` (our kernels ${kernels})` : '');
  const single = start.threadsFailure ? ` It uses one processor core: its multi-threaded version could not start (${start.threadsFailure}).` : '';
  return {
    name: 'wasm',
    device: `CPU: WebAssembly${start.simd ? (fusedMultiplyAdds() ? ' (SIMD, FMA)' : ' (SIMD)') : ''}, ${threads}`,
    isGpu: false,
    warning: WASM_WARNING + single,
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function initCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('The CPU backend failed to start.');
  await tf.ready();
  return { name: 'cpu', device: 'CPU (pure JavaScript — very slow)', warning: CPU_WARNING, isGpu: false };
}

/* ---------------------------------------------------------------------------------------------
 * WebGPU through Dawn. The globals must exist before @tensorflow/tfjs-backend-webgpu is imported.
 * ------------------------------------------------------------------------------------------- */

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<{
    info?: AdapterInfoLike;
  } | null>;
}

/** Installs Dawn's WebGPU on globalThis (once) and returns navigator.gpu, or null. */
async function ensureNodeWebGpu(): Promise<GpuLike | null> {
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  const mod = (await import('webgpu')) as unknown as {
    create: (options: string[]) => GpuLike;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create(dawnFlags());
  // Node 21+ has a read-only global navigator: define the property instead of assigning.
  if (g.navigator) {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  return gpu;
}

/** "GPU: NVIDIA H200, WebGPU" or "CPU: llvmpipe (lavapipe, Mesa 25.0.7) via WebGPU". */
export function describeAdapter(info: AdapterInfoLike | undefined): { device: string; isGpu: boolean } {
  const vendor = info?.vendor ?? '';
  const description = info?.description || info?.device || vendor || 'unknown adapter';
  const software =
    info?.isFallbackAdapter === true ||
    info?.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  if (software) {
    const mesa = /Mesa [0-9.]+/.exec(description)?.[0];
    const name = /swiftshader/i.test(description) ? 'SwiftShader' : 'llvmpipe/lavapipe';
    return { device: `CPU: ${name}${mesa ? ` (${mesa})` : ''} via WebGPU`, isGpu: false };
  }
  const api = process.platform === 'darwin' ? 'Metal' : process.platform === 'win32' ? 'D3D12' : 'Vulkan';
  return { device: `GPU: ${description} (${api}), WebGPU`, isGpu: true };
}

/**
 * Developer knob for benchmarks: GAN_AUGMENT_TFJS_FLAGS="NAME=value,..." sets tfjs flags (numbers,
 * true/false), e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 (tfjs submits a command buffer every 15
 * dispatches by default). A flag tfjs does not know, or a value that is neither a number nor
 * true/false, is refused with an error that names the variable.
 */
export function applyTfjsFlags(spec = process.env.GAN_AUGMENT_TFJS_FLAGS ?? ''): void {
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name = '', raw = ''] = part.split('=').map((x) => x.trim());
    const value = raw === 'true' ? true : raw === 'false' ? false : raw === '' ? NaN : Number(raw);
    if (!name || (typeof value === 'number' && !Number.isFinite(value))) {
      throw new Error(`GAN_AUGMENT_TFJS_FLAGS: "${part}" is not NAME=number or NAME=true/false.`);
    }
    try {
      tf.env().set(name, value);
    } catch {
      throw new Error(`GAN_AUGMENT_TFJS_FLAGS: TensorFlow.js has no flag named ${name}.`);
    }
  }
}

/**
 * Developer knob for benchmarks: GAN_AUGMENT_DAWN_FLAGS="disable-dawn-features=timestamp_quantization"
 * (flags separated by spaces) is handed to Dawn's `create`, read once, when Dawn is first loaded. Dawn
 * rounds GPU timestamps to about 65 microseconds by default (seen on the H200), too coarse for one kernel.
 * Only Dawn's feature switches are accepted; anything else is refused with an error that names the variable.
 */
export function dawnFlags(spec = process.env.GAN_AUGMENT_DAWN_FLAGS ?? ''): string[] {
  const flags = spec.split(/\s+/).filter(Boolean);
  for (const f of flags) {
    if (!/^(enable|disable)-dawn-features=[a-z0-9_]+(,[a-z0-9_]+)*$/.test(f)) {
      throw new Error(`GAN_AUGMENT_DAWN_FLAGS: "${f}" is not enable-dawn-features=name[,name] or disable-dawn-features=name[,name].`);
    }
  }
  return flags;
}

/** Dawn's adapter, described, without starting tfjs's WebGPU backend. */
async function probeWebGpu(): Promise<{ device: string; isGpu: boolean }> {
  let gpu: GpuLike | null;
  try {
    gpu = await ensureNodeWebGpu();
  } catch (e) {
    throw new BackendUnavailableError(`WebGPU could not load (${message(e)}).`, { cause: e });
  }
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
  if (!adapter) throw new BackendUnavailableError('WebGPU found no graphics adapter on this computer.');
  return describeAdapter(adapter.info);
}

/** tfjs-backend-webgpu's registration priority (its base.ts), kept when the instance is replaced. */
const WEBGPU_PRIORITY = 3;
let lostDevice: { message: string } | null = null;

/**
 * Why the WebGPU device in use was lost (its driver reset, the GPU was removed or hung), or null.
 * After a loss every GPU command fails or is dropped; the next `initBackend` replaces the device.
 */
export function webGpuDeviceLost(): { message: string } | null {
  return lostDevice;
}

interface LosableDevice {
  lost: Promise<{ reason?: string; message?: string }>;
}

/** Records a loss of the current backend instance's device (not of one already replaced). */
function watchDeviceLoss(): void {
  const backend = existingBackend('webgpu') as { device?: LosableDevice } | null;
  const device = backend?.device;
  if (!device?.lost) return;
  void device.lost.then((info) => {
    if ((existingBackend('webgpu') as { device?: LosableDevice } | null)?.device !== device) return;
    lostDevice = { message: info.message || info.reason || 'no reason given' };
  });
}

async function initWebGpu(): Promise<BackendInfo> {
  const { device, isGpu } = await probeWebGpu();
  await import('@tensorflow/tfjs-backend-webgpu');
  if (lostDevice && existingBackend('webgpu')) {
    // The device of the existing instance is gone: start over with a new one.
    try {
      fastDispatch?.uninstall();
    } catch {
      /* it belonged to the lost device */
    }
    fastDispatch = null;
    replaceBackendInstance('webgpu', WEBGPU_PRIORITY);
    lostDevice = null;
  }
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (e) {
    throw new BackendUnavailableError(`WebGPU failed to start (${message(e)}).`, { cause: e });
  }
  if (!ok) throw new BackendUnavailableError('WebGPU failed to start.');
  await tf.ready();
  watchDeviceLoss();
  applyTfjsFlags();
  // Our WGSL kernels (issue 5, ./kernels) replace tfjs's, unless GAN_AUGMENT_WGSL_KERNELS=0; which
  // ones by default depends on whether this is a real GPU.
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxComputeWorkgroupStorageSize?: number } } }).device?.limits;
  registerOurKernels({ gpu: isGpu, workgroupStorageBytes: limits?.maxComputeWorkgroupStorageSize });
  // Cached bind groups and uniforms, uploads without staging buffers (./webgpu-dispatch); the
  // backend instance lives as long as the process, and so does this.
  fastDispatch?.uninstall();
  fastDispatch = fastDispatchRequested() ? installFastDispatch(tf.backend() as unknown as WebGpuBackendInternals) : null;
  return isGpu
    ? { name: 'webgpu', device, isGpu }
    : {
        name: 'webgpu',
        device,
        isGpu,
        warning: 'No GPU was found: WebGPU runs on the CPU through a software driver. Training is slow.',
      };
}

/* ---------------------------------------------------------------------------------------------
 * tfjs-node-gpu / tfjs-node: optional, never in package.json (their install downloads
 * libtensorflow). A computed specifier keeps bundlers and tsc from resolving them.
 * ------------------------------------------------------------------------------------------- */

const OPTIONAL_TF_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function initTensorflow(): Promise<BackendInfo> {
  const failures: string[] = [];
  for (const pkg of OPTIONAL_TF_PACKAGES) {
    try {
      await importOptional(pkg);
    } catch (e) {
      failures.push(`${pkg}: ${message(e).split('\n')[0]}`);
      continue;
    }
    try {
      if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend returned false');
      await tf.ready();
      // A test op: a broken CUDA/cuDNN install fails here rather than in the middle of training.
      const probe = tf.matMul(tf.ones([8, 8]), tf.ones([8, 8]));
      await probe.data();
      probe.dispose();
    } catch (e) {
      failures.push(`${pkg} loaded but failed: ${message(e).split('\n')[0]}`);
      continue;
    }
    const gpu = pkg.endsWith('-gpu');
    return {
      name: 'tensorflow',
      device: gpu ? 'GPU: NVIDIA CUDA, TensorFlow (tfjs-node-gpu)' : 'CPU: TensorFlow C library (tfjs-node)',
      isGpu: gpu,
    };
  }
  throw new BackendUnavailableError(
    `The TensorFlow backend is not installed or does not work (${failures.join('; ')}).`,
  );
}
