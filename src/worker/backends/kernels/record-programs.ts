/**
 * Which WebGPU programs a piece of work dispatches (for tests and benchmarks: the kernel tests count
 * programs by shader key or class, bench/profile-step.bench.ts by kind). No vitest here, so that the
 * benchmarks bundled for the device machine can import it.
 */
import { backend } from '@tensorflow/tfjs-core';

/** A WebGPU program as tfjs's runner receives it: its shader key (as given) and its class. */
export interface RecordedProgram {
  shaderKey: string;
  constructor: { name: string };
}

/**
 * Runs fn, recording each program the WebGPU backend's runner dispatches (in order) until fn returns or
 * a returned promise settles; the caller reads `programs` after that. In-place updates of ours (Adam's,
 * batch norm's moving averages) bypass the runner and are not recorded.
 */
export function recordPrograms<T>(fn: () => T): { result: T; programs: RecordedProgram[] } {
  const runner = backend() as unknown as { runWebGPUProgram: (p: RecordedProgram, ...rest: unknown[]) => unknown };
  const original = runner.runWebGPUProgram;
  const programs: RecordedProgram[] = [];
  runner.runWebGPUProgram = function (this: unknown, p, ...rest) {
    // A snapshot: tfjs's runner appends the inputs' shapes and types to the program's key as it runs it.
    programs.push({ shaderKey: p.shaderKey, constructor: p.constructor });
    return original.call(this, p, ...rest);
  };
  const result = thenRestore(fn, () => {
    runner.runWebGPUProgram = original;
  });
  return { result, programs };
}

/** fn's result, with `restore` run once fn has returned or thrown, or once a promise it returned settles. */
export function thenRestore<T>(fn: () => T, restore: () => void): T {
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
