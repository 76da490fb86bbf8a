/**
 * Owns the worker process: starts it on first use, runs one task at a time through it, restarts it
 * after a crash, and kills it on dispose. Tasks see the worker only through runTask().
 *
 * A worker that stays silent after a cancel for longer than the task can take to wind down (see
 * CANCEL_GRACE_MS) is stuck (a synchronous computation that never returns, a WebAssembly thread that
 * trapped while the main thread waits for it): it is killed, the task ends as cancelled, and the
 * next task starts a fresh worker. Without this, Stop and Pause would do nothing, and every later
 * task would queue behind the stuck one.
 *
 * A callback that throws (onProgress, onItem: main saving a result on a full disk) never reaches the
 * process's event loop: the task is cancelled in the worker and ends with that error (`Pending.failure`).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../../shared/errors';
import type { WorkerExitReason, WorkerTask, WorkerToMain } from '../../shared/worker-protocol';
import type { WorkerLauncher, WorkerProcess } from '../worker-host';

export interface TaskCallbacks {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number | null, message?: string) => void;
  onItem?: (item: unknown) => void;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  cb: TaskCallbacks;
  /** The worker running it: a killed stuck worker's exit must not fail a task of its successor. */
  proc: WorkerProcess;
  /** When the worker last said something about this task (performance.now()), and its longest silence. */
  heardAt: number;
  longestSilence: number;
  /** Stops the task in the worker (as a cancel does). */
  cancel(): void;
  /**
   * What a callback threw (a full disk while main saved the task's results): the task is cancelled in
   * the worker and, once the worker has wound it down, ends with this error instead of its own outcome.
   */
  failure?: { error: unknown };
}

function exitSentence(reason: WorkerExitReason): string {
  switch (reason) {
    case 'oom':
      return 'The background worker ran out of memory and stopped. Try a smaller batch or resolution.';
    case 'crashed':
      return 'The background worker stopped unexpectedly. Your project is safe; you can run the task again.';
    case 'killed':
      return 'The background worker was stopped from outside GAN Augment (for example by the system when memory ran low). Your project is safe; you can run the task again.';
    case 'clean-exit':
      return 'The background worker exited before finishing the task.';
  }
}

/**
 * How long a cancelled task may stay silent (counted from the cancel, or from its last message after
 * it) before its worker is killed, beyond twice the longest silence the task had kept before,
 * the one under way at the cancel included (a task that reports once per 2-minute training step on
 * a slow processor gets 5 minutes: the rest of its step, then its checkpoint; one cancelled while it
 * loads its images gets twice the loading time so far).
 */
export const CANCEL_GRACE_MS = 60_000;

/** CANCEL_GRACE_MS, or GAN_AUGMENT_CANCEL_GRACE_MS (milliseconds, > 0) where set (tests use seconds). */
export function cancelGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.GAN_AUGMENT_CANCEL_GRACE_MS;
  if (raw === undefined || raw === '') return CANCEL_GRACE_MS;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`GAN_AUGMENT_CANCEL_GRACE_MS must be a number of milliseconds above 0, not "${raw}".`);
  return ms;
}

export interface WorkerClientOptions {
  /** See CANCEL_GRACE_MS; by default cancelGraceFromEnv(). */
  cancelGraceMs?: number;
}

const STUCK_SENTENCE =
  'The background worker stopped responding and was restarted. Your project is safe; you can run the task again.';

export class WorkerClient {
  readonly #launch: WorkerLauncher;
  readonly #cancelGraceMs: number;
  #proc: WorkerProcess | undefined;
  readonly #pending = new Map<string, Pending>();
  /** Workers killed because they stopped responding (their other tasks fail with STUCK_SENTENCE). */
  readonly #stuck = new Set<WorkerProcess>();
  #disposed = false;

  constructor(launch: WorkerLauncher, opts: WorkerClientOptions = {}) {
    this.#launch = launch;
    this.#cancelGraceMs = opts.cancelGraceMs ?? cancelGraceFromEnv();
  }

  get running(): boolean {
    return this.#proc !== undefined;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  #ensure(): WorkerProcess {
    if (this.#disposed) throw new AppError('conflict', 'The app is shutting down.');
    if (this.#proc) return this.#proc;
    const proc = this.#launch();
    proc.onMessage((msg) => this.#onMessage(msg));
    proc.onExit((reason) => {
      if (this.#proc === proc) this.#proc = undefined;
      const stuck = this.#stuck.delete(proc);
      for (const [taskId, p] of this.#pending) {
        if (p.proc !== proc) continue;
        this.#pending.delete(taskId);
        p.reject(
          p.failure
            ? p.failure.error
            : this.#disposed
            ? new AppError('cancelled', 'Cancelled.')
            : stuck
              ? new AppError('internal', STUCK_SENTENCE)
              : new AppError(reason === 'oom' ? 'out-of-memory' : 'internal', exitSentence(reason)),
        );
      }
    });
    this.#proc = proc;
    return proc;
  }

  #onMessage(msg: WorkerToMain): void {
    if (msg.type === 'ready') return;
    const p = this.#pending.get(msg.taskId);
    if (!p) return;
    const now = performance.now();
    p.longestSilence = Math.max(p.longestSilence, now - p.heardAt);
    p.heardAt = now;
    switch (msg.type) {
      case 'progress':
        this.#callBack(p, () => p.cb.onProgress?.(msg.done, msg.total, msg.message));
        return;
      case 'item':
        this.#callBack(p, () => p.cb.onItem?.(msg.item));
        return;
      case 'done':
        this.#pending.delete(msg.taskId);
        if (p.failure) p.reject(p.failure.error);
        else p.resolve(msg.result);
        return;
      case 'cancelled':
        this.#pending.delete(msg.taskId);
        p.reject(p.failure ? p.failure.error : new AppError('cancelled', 'Cancelled.'));
        return;
      case 'failed':
        this.#pending.delete(msg.taskId);
        p.reject(p.failure ? p.failure.error : new AppError(msg.error.kind, msg.error.message));
        return;
    }
  }

  /** Runs a task's callback; the first one that throws fails the task (see the header), later ones are not called. */
  #callBack(p: Pending, call: () => void): void {
    if (p.failure) return;
    try {
      call();
    } catch (error) {
      p.failure = { error };
      p.cancel();
    }
  }

  runTask(task: WorkerTask, cb: TaskCallbacks = {}): Promise<unknown> {
    if (cb.signal?.aborted) return Promise.reject(new AppError('cancelled', 'Cancelled.'));
    const proc = this.#ensure();
    const taskId = randomUUID();
    return new Promise((resolve, reject) => {
      let stuckTimer: NodeJS.Timeout | undefined;
      let lastLook: NodeJS.Immediate | undefined;
      let cancelSent = false;
      const onAbort = () => {
        if (cancelSent) return;
        cancelSent = true;
        proc.send({ type: 'cancel', taskId });
        const abortedAt = performance.now();
        const pending = this.#pending.get(taskId);
        if (pending) pending.longestSilence = Math.max(pending.longestSilence, abortedAt - pending.heardAt);
        // Kill the worker once it has been silent for longer than the task may take to wind down.
        const watch = (final: boolean) => {
          const p = this.#pending.get(taskId);
          if (!p) return;
          const grace = this.#cancelGraceMs + 2 * p.longestSilence;
          const silent = performance.now() - Math.max(abortedAt, p.heardAt);
          if (silent < grace) stuckTimer = setTimeout(() => watch(false), grace - silent);
          // Timers run before pending messages are read: read them (setImmediate) before deciding.
          else if (!final) lastLook = setImmediate(() => watch(true));
          else this.#killStuck(p, taskId, grace);
        };
        stuckTimer = setTimeout(() => watch(false), this.#cancelGraceMs);
      };
      cb.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        cb.signal?.removeEventListener('abort', onAbort);
        clearTimeout(stuckTimer);
        clearImmediate(lastLook);
      };
      this.#pending.set(taskId, {
        resolve: (v) => (cleanup(), resolve(v)),
        reject: (e) => (cleanup(), reject(e)),
        cb,
        proc,
        heardAt: performance.now(),
        longestSilence: 0,
        cancel: onAbort,
      });
      proc.send({ type: 'run', taskId, task });
    });
  }

  /** The worker did not answer the cancel of `taskId` in time: end the task as cancelled and kill it. */
  #killStuck(p: Pending, taskId: string, graceMs: number): void {
    const proc = p.proc;
    this.#pending.delete(taskId);
    const seconds = Math.max(1, Math.round(graceMs / 1000));
    p.reject(
      p.failure
        ? p.failure.error
        : new AppError('cancelled', `Cancelled. The background worker did not respond within ${seconds} s, so it was restarted. Your project is safe.`),
    );
    if (this.#proc === proc) this.#proc = undefined;
    this.#stuck.add(proc);
    proc.kill(); // any other task still on it is rejected by its exit handler
  }

  /** Kills the worker (safe to call twice); pending tasks reject. */
  dispose(): void {
    this.#disposed = true;
    const proc = this.#proc;
    this.#proc = undefined;
    proc?.kill();
  }
}
