/**
 * tfjs-backend-wasm's multi-threaded build (XNNPACK over a pool of pthreads, each a Node worker
 * thread sharing the module's memory), started in Node, where tfjs 4.22 does not start it.
 *
 * Why tfjs does not: its init() turns threads off under Node (WASM_HAS_MULTITHREAD_SUPPORT is false
 * when IS_NODE, tfjs issue 3830), and it hands Emscripten the worker script and the main script as
 * `blob:` URLs, which Node's worker_threads cannot load. So this module does what init() does for
 * the threaded build, with files instead of Blobs, through the package's public pieces only:
 *  - the Emscripten factory `wasm-out/tfjs-backend-wasm-threaded-simd.js` (a plain CommonJS file);
 *  - its pthread worker script, which the package ships as a string (`wasmWorkerContents` of
 *    `wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`);
 *  - `BackendWasm` and `setThreadsCount`, exported by the package's index.
 * The worker script and a copy of the factory are written to a fresh temporary folder, which is
 * removed as soon as the module is ready: Emscripten starts its whole pool (8 workers) before the
 * module resolves, and the pool never grows while XNNPACK uses at most 8 threads (MAX_THREADS).
 * Copies, rather than paths into node_modules, because in the packaged app the package lies inside
 * app.asar, which a worker thread cannot read.
 *
 * Any failure leaves tfjs's own single-threaded start to the caller (`createThreadedModule` throws).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** Emscripten's pthread pool size in this build (`var pthreadPoolSize=8`); XNNPACK's pool stays within it. */
export const MAX_THREADS = 8;

const PACKAGE = '@tensorflow/tfjs-backend-wasm';
const FACTORY_FILE = 'wasm-out/tfjs-backend-wasm-threaded-simd.js';
const WORKER_FILE = 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
/** The packaged app unpacks dist/*.wasm from app.asar (electron-builder.yml); same bytes as wasm-out's. */
const BINARY_FILE = 'dist/tfjs-backend-wasm-threaded-simd.wasm';

/** The parts of an Emscripten module that tfjs's BackendWasm and this file use. */
export interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number | void;
  PThread: { terminateAllThreads(): void; unusedWorkers: unknown[]; runningWorkers: unknown[] };
  HEAPU8: Uint8Array;
  tfjs?: Record<string, unknown>;
}

type WasmImports = WebAssembly.Imports & { env: Record<string, unknown> };
type Factory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

/**
 * How many threads to use: GAN_AUGMENT_WASM_THREADS when set (1 = tfjs's single-threaded build),
 * otherwise one per logical processor, at most MAX_THREADS.
 */
export function wasmThreadCount(env: NodeJS.ProcessEnv = process.env, cpus = availableParallelism()): number {
  const raw = env.GAN_AUGMENT_WASM_THREADS?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`GAN_AUGMENT_WASM_THREADS is "${raw}"; use a whole number from 1 to ${MAX_THREADS}.`);
    return Math.min(n, MAX_THREADS);
  }
  return Math.max(1, Math.min(cpus, MAX_THREADS));
}

/** The most threads our own kernels' pool may have (it is ours, not bound by Emscripten's pool). */
export const MAX_KERNEL_THREADS = 64;
/**
 * The most threads our kernels take by default: the most at which whole steps were measured. On the
 * device machine's 16-core Xeon (docs/PERFORMANCE.md, "NVIDIA H200, fifth visit", part s), DCGAN-64 at
 * batch 16 with the module on 8 threads took 267 / 273 ms a step with our kernels on 16 threads against
 * 361 / 390 on 8, the same losses to the bit.
 */
export const DEFAULT_MAX_KERNEL_THREADS = 16;

/**
 * How many threads our own kernels use (./simd/kernel-threads.ts, the calling thread counted):
 * GAN_AUGMENT_WASM_KERNEL_THREADS when set (at most MAX_KERNEL_THREADS); otherwise as many as the
 * module has (`moduleThreads`), except where the module stopped at Emscripten's MAX_THREADS on a
 * processor with more: our pool is not bound by Emscripten's 8 workers, so there our kernels take one
 * thread per logical processor, at most DEFAULT_MAX_KERNEL_THREADS. A thread count set on purpose
 * (GAN_AUGMENT_WASM_THREADS) holds for our kernels too.
 */
export function kernelThreadCount(moduleThreads: number, env: NodeJS.ProcessEnv = process.env, cpus = availableParallelism()): number {
  const raw = env.GAN_AUGMENT_WASM_KERNEL_THREADS?.trim();
  if (!raw) {
    const chosen = env.GAN_AUGMENT_WASM_THREADS?.trim();
    if (chosen || moduleThreads < MAX_THREADS) return moduleThreads;
    return Math.max(moduleThreads, Math.min(cpus, DEFAULT_MAX_KERNEL_THREADS));
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_KERNEL_THREADS) {
    throw new Error(`GAN_AUGMENT_WASM_KERNEL_THREADS is "${raw}"; use a whole number from 1 to ${MAX_KERNEL_THREADS}.`);
  }
  return n;
}

/** Files the package must have for the threaded build; a missing one means tfjs's own start. */
function packageFiles(): { factory: string; workerContents: string; binary: string } {
  const req = createRequire(__filename);
  const root = dirname(req.resolve(`${PACKAGE}/package.json`));
  const { wasmWorkerContents } = req(join(root, WORKER_FILE)) as { wasmWorkerContents?: unknown };
  if (typeof wasmWorkerContents !== 'string') throw new Error(`${WORKER_FILE} has no worker script`);
  return { factory: join(root, FACTORY_FILE), workerContents: wasmWorkerContents, binary: join(root, BINARY_FILE) };
}

export interface ThreadedStartOptions {
  /** How long the pool may take to start (default START_TIMEOUT_MS). */
  timeoutMs?: number;
  /**
   * A thread's worker failed after the start (Emscripten would throw its error from an event
   * handler and end the whole process): the module is no longer trustworthy.
   */
  onThreadFailure?: (error: unknown) => void;
  /** Tests: the pool's workers, as soon as Emscripten has created them. */
  onWorkersCreated?: (workers: readonly unknown[]) => void;
}

/**
 * Creates the threaded Emscripten module, its pthread pool loaded, wired as tfjs's init() wires it
 * (module.tfjs). The caller makes a BackendWasm of it. Throws on any failure; nothing is left behind
 * (the temporary folder is removed, a half-made module's workers terminated).
 */
export async function createThreadedModule(threads: number, options: ThreadedStartOptions = {}): Promise<ThreadedModule> {
  const timeoutMs = options.timeoutMs ?? START_TIMEOUT_MS;
  const files = packageFiles();
  const binary = readFileSync(files.binary);
  const req = createRequire(__filename);
  const factory = req(files.factory) as Factory;
  // tfjs escapes these too: the worker script is made from a string whose string literals hold raw newlines.
  const workerContents = files.workerContents.replace(/\n/g, '\\n');
  new Script(workerContents, { filename: 'worker.js' }); // a syntax error here, not in a worker thread
  removeStaleFolders();
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  const config: Record<string, unknown> & Partial<ThreadedModule> = {};
  let timer: NodeJS.Timeout | undefined;
  try {
    const mainScript = join(dir, 'main.js');
    const workerScript = join(dir, 'worker.js');
    writeFileSync(mainScript, readFileSync(files.factory));
    writeFileSync(workerScript, workerContents);
    let started = false;
    let failStart: (e: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      failStart = reject;
      timer = setTimeout(() => reject(new Error(`its threads did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    Object.assign(config, {
      locateFile: (path: string, prefix: string) => (path.endsWith('.worker.js') ? workerScript : prefix + path),
      mainScriptUrlOrBlob: mainScript,
      onAbort: (what: unknown) => failStart(new Error(`the threaded WebAssembly module aborted (${String(what)})`)),
      instantiateWasm: (info: WasmImports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
        // tfjs caps XNNPACK's pool at half the logical processors (it assumes two hardware threads per
        // core), read once from this import when the module starts: it is told twice `threads`.
        info.env.emscripten_num_logical_cores = () => 2 * threads;
        WebAssembly.instantiate(binary, info).then(({ instance, module }) => receive(instance, module), failStart);
        return {};
      },
      // Emscripten prints through these (a failed start is reported by the error instead).
      print: () => {},
      printErr: () => {},
    });
    // The factory uses `config` as the module object and creates its pool of workers before it returns.
    const ready = factory(config);
    const workers = (config.PThread?.unusedWorkers ?? []) as PoolWorker[];
    guardWorkers(workers, (e) => {
      if (!started) failStart(new Error(`a thread failed to start (${e instanceof Error ? e.message : String(e)})`));
      else options.onThreadFailure?.(e);
    });
    options.onWorkersCreated?.(workers);
    const module = await Promise.race([ready, failed]);
    started = true;
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    return module;
  } catch (e) {
    terminateThreads(config as ThreadedModule);
    throw e;
  } finally {
    clearTimeout(timer);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* a file held open (antivirus): the next start's sweep of stale folders removes it */
    }
  }
}

const TEMP_PREFIX = 'gan-augment-wasm-';
/** Older than this, a folder of ours was left by a process killed while its module started. */
const STALE_MS = 24 * 3600 * 1000;

/** Removes the temporary folders that killed starts left behind (a start removes its own). */
function removeStaleFolders(now = Date.now()): void {
  try {
    for (const name of readdirSync(tmpdir())) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(tmpdir(), name);
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    }
  } catch {
    /* housekeeping only */
  }
}

/** How long the pool of 8 threads may take to start (about 1 s on the 2-core build machine). */
const START_TIMEOUT_MS = 30_000;

interface PoolWorker {
  on(event: 'error', listener: (e: unknown) => void): void;
  onerror?: (e: unknown) => void;
  terminate(): unknown;
}

/**
 * Emscripten throws a worker's error from its event handler, which would end the whole process (its
 * 'error' event, before Emscripten listens, would too). Every error of the pool's workers goes to
 * `onError` instead: during the start it fails the start (tfjs's single-threaded module is used),
 * after it the module is marked broken.
 */
function guardWorkers(workers: readonly PoolWorker[], onError: (e: unknown) => void): void {
  for (const worker of workers) {
    worker.on('error', onError);
    // Emscripten's own handler (set when it loads the module into the worker) would throw the error.
    Object.defineProperty(worker, 'onerror', { configurable: true, get: () => () => {}, set: () => {} });
  }
}

/**
 * Ends a threaded module's worker threads (idle or running); its memory goes with the last reference.
 * Emscripten's terminateAllThreads frees each running thread's data inside the module, which can fail
 * in a module that broke: then every worker is terminated directly.
 */
export function terminateThreads(module: { PThread?: ThreadedModule['PThread'] } | null | undefined): void {
  const pool = module?.PThread as (ThreadedModule['PThread'] & { pthreads?: Record<string, PoolWorker> }) | undefined;
  if (!pool) return;
  try {
    pool.terminateAllThreads();
  } catch {
    const all = new Set<PoolWorker>([...(pool.runningWorkers as PoolWorker[]), ...(pool.unusedWorkers as PoolWorker[]), ...Object.values(pool.pthreads ?? {})]);
    for (const worker of all) void worker.terminate();
    pool.runningWorkers.splice(0);
    pool.unusedWorkers.splice(0);
  }
}

/**
 * XNNPACK's pool threads wait for work for as long as the module lives, and Emscripten keeps a Node
 * worker that runs a thread referenced: the process could never exit by itself. They are unreferenced
 * (the main thread always waits for their work to finish, so nothing is cut short).
 */
export function unrefThreads(module: ThreadedModule): void {
  for (const worker of module.PThread.runningWorkers as Array<{ unref(): void }>) worker.unref();
}

/**
 * Emscripten starts 8 workers whatever the thread count; those XNNPACK's pool did not take stay idle
 * for the module's life, 15-20 MB each (a V8 isolate apiece). They are ended once the pool exists:
 * tfjs 4.22 creates no thread after that (its one pool is made by init_with_threads_count). A thread
 * created later would need a new worker, whose script was removed with the temporary folder.
 */
export function endIdleThreads(module: ThreadedModule): void {
  const idle = module.PThread.unusedWorkers.splice(0) as Array<{ terminate(): unknown }>;
  for (const worker of idle) void worker.terminate();
}

/** How many of a module's pthread workers are alive (tests). */
export function liveThreadWorkers(module: { PThread?: ThreadedModule['PThread'] } | null | undefined): number {
  const pool = module?.PThread;
  return pool ? pool.unusedWorkers.length + pool.runningWorkers.length : 0;
}
