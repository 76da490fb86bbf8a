/**
 * The multi-threaded WebAssembly module (./threads.ts): it starts in Node with the threads asked for,
 * computes what the single-threaded module computes (bit for bit), leaves no temporary file and no
 * idle worker, ends its workers when it is replaced, falls back to tfjs's single-threaded module when
 * it cannot start, survives a failing thread, and does not keep a process alive. Its own file: the
 * tfjs backend is process-wide. Its own temporary folder (TMPDIR), so that modules started by other
 * test files at the same time do not count.
 */
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { BackendUnavailableError, initBackend, markWasmBackendBroken } from '../index';
import { existingBackend } from '../replace';
import { Prng } from '../../training/rng';
import { setThreadedModuleCreator } from './index';
import { type ThreadedModule, DEFAULT_MAX_KERNEL_THREADS, MAX_THREADS, createThreadedModule, kernelThreadCount, liveThreadWorkers, terminateThreads, wasmThreadCount } from './threads';
import { currentKernelThreads, fusedMultiplyAdds } from './simd/kernel-threads';

/** The device line for `threads` (with FMA where this engine and GAN_AUGMENT_WASM_FMA allow it). */
const device = (threads: string) => `CPU: WebAssembly (SIMD${fusedMultiplyAdds() ? ', FMA' : ''}), ${threads}`;

const ENV = 'GAN_AUGMENT_WASM_THREADS';
const KERNEL_ENV = 'GAN_AUGMENT_WASM_KERNEL_THREADS';
const module = () => (existingBackend('wasm') as { wasm: ThreadedModule }).wasm;
const ourTempDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('gan-augment-wasm-'));
const workersOf = (m: ThreadedModule) => m.PThread.runningWorkers as EventEmitter[];

let ownTmp = '';
const savedTmp = process.env.TMPDIR;
beforeAll(() => {
  ownTmp = mkdtempSync(join(tmpdir(), 'threads-test-'));
  process.env.TMPDIR = ownTmp; // os.tmpdir() reads it on each call
});
afterAll(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(ownTmp, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env[ENV];
  delete process.env[KERNEL_ENV];
  delete process.env.GAN_AUGMENT_WASM_SPIN_US;
  setThreadedModuleCreator(null);
});

/** A fresh module with `threads` threads (the old one replaced, as after a failure). */
async function startWith(threads: number) {
  process.env[ENV] = String(threads);
  markWasmBackendBroken();
  return initBackend('wasm');
}

/** A DCGAN-like layer's forward pass and both gradients, read back. */
function convAndGrads(): Float32Array[] {
  const rng = new Prng(3);
  const x = tf.tensor4d(Float32Array.from({ length: 4 * 16 * 16 * 32 }, () => rng.next() * 2 - 1), [4, 16, 16, 32]);
  const w = tf.tensor4d(Float32Array.from({ length: 4 * 4 * 32 * 64 }, () => rng.next() * 0.2 - 0.1), [4, 4, 32, 64]);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
  const [dx, dw] = tf.grads(f)([x, w]);
  const y = tf.conv2d(x, w, 2, 'same');
  const out = [y, dx!, dw!].map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, w, y, dx!, dw!]);
  return out;
}

/** Resolves when every one of `workers` has exited. */
const allExited = (workers: EventEmitter[]) => Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));

describe('multi-threaded WebAssembly', () => {
  it('thread count: one per logical processor up to 8, or GAN_AUGMENT_WASM_THREADS; a bad value is an error in words', async () => {
    expect(wasmThreadCount({}, 2)).toBe(2);
    expect(wasmThreadCount({}, 1)).toBe(1);
    expect(wasmThreadCount({}, 32)).toBe(MAX_THREADS);
    expect(wasmThreadCount({ [ENV]: '1' }, 16)).toBe(1);
    expect(wasmThreadCount({ [ENV]: ' 3 ' }, 2)).toBe(3);
    expect(wasmThreadCount({ [ENV]: '64' }, 2)).toBe(MAX_THREADS);
    expect(() => wasmThreadCount({ [ENV]: 'many' }, 2)).toThrow('GAN_AUGMENT_WASM_THREADS is "many"; use a whole number from 1 to 8.');
    expect(() => wasmThreadCount({ [ENV]: '0' }, 2)).toThrow(/whole number/);
    // Said as such, for `auto` too (not hidden behind a slower backend).
    process.env[ENV] = 'many';
    for (const choice of ['wasm', 'auto'] as const) {
      const err = await initBackend(choice).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toBe('GAN_AUGMENT_WASM_THREADS is "many"; use a whole number from 1 to 8.');
    }
  });

  it('starts with the threads asked for, computes bit for bit what one thread computes, and keeps no idle worker or temporary file', async () => {
    const one = await startWith(1);
    expect(one.device).toBe(device('1 thread'));
    expect(one.warning).not.toMatch(/thread/);
    expect(liveThreadWorkers(module())).toBe(0); // tfjs's own single-threaded build
    const single = convAndGrads();

    const three = await startWith(3);
    expect(three.device).toBe(device('3 threads'));
    const threaded = module();
    // XNNPACK's pool: the calling thread and two workers; Emscripten's 6 other workers were ended.
    expect(liveThreadWorkers(threaded)).toBe(2);
    const multi = convAndGrads();
    for (let i = 0; i < 3; i++) expect(Buffer.from(multi[i]!.buffer).equals(Buffer.from(single[i]!.buffer))).toBe(true);
    expect(ourTempDirs()).toEqual([]);

    // Replaced (as after a failure or to give memory back): the old module's workers exit.
    const exited = allExited(workersOf(threaded));
    await startWith(2);
    await exited;
    expect(liveThreadWorkers(threaded)).toBe(0);
    expect(liveThreadWorkers(module())).toBe(1);
    expect(Array.from(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2))).dataSync())).toEqual([3]);
  }, 60_000);

  it('runs our kernels on GAN_AUGMENT_WASM_KERNEL_THREADS threads where set (beyond the module\'s), says so, and computes the same bits', async () => {
    // Unset: the module's count, or one per processor (at most 16) where the module stopped at 8.
    expect(kernelThreadCount(8, {}, 8)).toBe(8);
    expect(kernelThreadCount(8, {}, 12)).toBe(12);
    expect(kernelThreadCount(8, {}, 16)).toBe(DEFAULT_MAX_KERNEL_THREADS);
    expect(kernelThreadCount(8, {}, 96)).toBe(DEFAULT_MAX_KERNEL_THREADS);
    expect(kernelThreadCount(4, { GAN_AUGMENT_WASM_THREADS: '4' }, 16)).toBe(4); // a count set on purpose holds
    expect(kernelThreadCount(8, { GAN_AUGMENT_WASM_THREADS: '8' }, 16)).toBe(8);
    expect(kernelThreadCount(8, { GAN_AUGMENT_WASM_THREADS: ' ' }, 16)).toBe(DEFAULT_MAX_KERNEL_THREADS);
    expect(kernelThreadCount(2, {}, 2)).toBe(2);
    expect(kernelThreadCount(1, {}, 32)).toBe(1);
    expect(kernelThreadCount(8, { [KERNEL_ENV]: ' 4 ' }, 16)).toBe(4);
    expect(kernelThreadCount(2, { [KERNEL_ENV]: ' 16 ' })).toBe(16);
    expect(() => kernelThreadCount(2, { [KERNEL_ENV]: '0' })).toThrow('GAN_AUGMENT_WASM_KERNEL_THREADS is "0"; use a whole number from 1 to 64.');
    expect(() => kernelThreadCount(2, { [KERNEL_ENV]: '65' })).toThrow(/from 1 to 64/);
    await startWith(1);
    const single = convAndGrads();
    process.env[KERNEL_ENV] = '4';
    const info = await startWith(2);
    expect(info.device).toBe(device('2 threads (our kernels 4)'));
    const multi = convAndGrads();
    expect(currentKernelThreads()?.workerCount).toBe(3);
    for (let i = 0; i < 3; i++) expect(Buffer.from(multi[i]!.buffer).equals(Buffer.from(single[i]!.buffer))).toBe(true);
    // a bad value is said when the backend starts, as GAN_AUGMENT_WASM_THREADS's is
    process.env[KERNEL_ENV] = 'lots';
    const err = await initBackend('auto').catch((e: unknown) => e);
    expect((err as Error).message).toBe('GAN_AUGMENT_WASM_KERNEL_THREADS is "lots"; use a whole number from 1 to 64.');
    // likewise the spin before the calling thread sleeps (read when the kernels' pool is made)
    delete process.env[KERNEL_ENV];
    process.env.GAN_AUGMENT_WASM_SPIN_US = '1ms';
    const spinErr = await initBackend('auto').catch((e: unknown) => e);
    expect((spinErr as Error).message).toBe('GAN_AUGMENT_WASM_SPIN_US is "1ms"; use a whole number of microseconds from 0 to 100000.');
  }, 60_000);

  it('when the threaded module cannot start (too slow, or a thread fails), tfjs single-threaded module is used and the warning says why', async () => {
    setThreadedModuleCreator((threads, options) => createThreadedModule(threads, { ...options, timeoutMs: 1 }));
    const slow = await startWith(2);
    expect(slow.name).toBe('wasm');
    expect(slow.device).toBe(device('1 thread'));
    expect(slow.warning).toContain('It uses one processor core: its multi-threaded version could not start (its threads did not start within 0.001 s).');

    // A worker that fails while the pool starts: Emscripten would throw its error and end the process.
    setThreadedModuleCreator((threads, options) =>
      createThreadedModule(threads, { ...options, onWorkersCreated: (workers) => (workers[0] as EventEmitter).emit('error', new Error('its script failed')) }),
    );
    const failing = await startWith(2);
    expect(failing.device).toBe(device('1 thread'));
    expect(failing.warning).toContain('could not start (a thread failed to start (its script failed)).');
    expect(ourTempDirs()).toEqual([]);
    expect(Array.from(tf.tidy(() => tf.mul(tf.scalar(2), tf.scalar(3))).dataSync())).toEqual([6]);
  }, 60_000);

  it('a thread that fails after the start does not end the process: the module is replaced at the next start', async () => {
    await startWith(2);
    const failed = module();
    workersOf(failed)[0]!.emit('error', new Error('a pthread trapped'));
    delete process.env[ENV];
    const info = await initBackend('wasm'); // not marked broken by the test: the failure did it
    expect(info.device).toBe(device('2 threads'));
    expect(module()).not.toBe(failed);
    expect(liveThreadWorkers(failed)).toBe(0);
  }, 60_000);

  it('a start removes the temporary folders that killed starts left (older than a day), not a fresh one', async () => {
    const stale = mkdtempSync(join(tmpdir(), 'gan-augment-wasm-'));
    const fresh = mkdtempSync(join(tmpdir(), 'gan-augment-wasm-'));
    const events = ['unhandledRejection', 'uncaughtException'] as const;
    const emitter = process as NodeJS.EventEmitter;
    const current = () => events.flatMap((ev) => emitter.listeners(ev).map((fn) => [ev, fn] as const));
    const before = current();
    try {
      writeFileSync(join(stale, 'worker.js'), '');
      const twoDaysAgo = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
      utimesSync(stale, twoDaysAgo, twoDaysAgo);
      const made = await createThreadedModule(2);
      terminateThreads(made);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
      // The module's Emscripten process listeners (the backend's drop removes them; this module had none).
      for (const [ev, fn] of current()) if (!before.some(([e, f]) => e === ev && f === fn)) emitter.off(ev, fn as (...a: unknown[]) => void);
    }
    expect(current()).toEqual(before);
  }, 60_000);

  it('a process that trained on several threads ends by itself', () => {
    const script = [
      "const { initBackend } = require('./src/worker/backends');",
      "const { tf } = require('./src/worker/backends/tf');",
      'initBackend("wasm").then((b) => {',
      '  const x = tf.randomNormal([2, 8, 8, 16]); const w = tf.randomNormal([3, 3, 16, 32]);',
      '  tf.conv2d(x, w, 1, "same").dataSync();',
      '  console.log(b.device);',
      '});',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..', '..', '..', '..'),
      env: { ...process.env, [ENV]: '2' },
      encoding: 'utf8',
      timeout: 60_000, // a process kept alive by its workers would be killed here, and the test fail
    });
    expect(out.trim()).toBe(device('2 threads'));
  }, 90_000);
});
