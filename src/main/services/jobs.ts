/**
 * The job runner: jobs run one at a time in FIFO order (heavy work shares one worker and one disk),
 * each with progress (done/total, smoothed rate, ETA), cancellation through an AbortSignal, and a
 * row in the project's `jobs` table that survives a crash (the next open marks it interrupted).
 *
 * A full disk (or any other failed write of a job's row) never ends the process: progress rows are
 * best effort, and a job whose final row cannot be written keeps its outcome in memory (`#unsaved`),
 * so the person still sees why it ended; the row stays `running` and the next open marks it
 * interrupted, as after a crash.
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobStatus, JobType } from '../../shared/contract';
import { AppError, toErrorData, type AppErrorData } from '../../shared/errors';
import type { Project } from '../store/project';
import type { WorkerClient } from './worker-client';

export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  readonly project: Project;
  readonly worker: WorkerClient;
  /** Report progress; cheap to call often (events and DB writes are throttled). */
  progress(done: number, total?: number | null, message?: string): void;
  /**
   * How the job was asked to end, once `signal` has fired: 'pause', or 'stop' (a Stop after a Pause
   * still winding down wins; the signal's own reason stays the first). Null while not cancelled.
   */
  readonly cancelMode: 'pause' | 'stop' | null;
}

export interface JobSpec {
  type: JobType;
  title: string;
  unit: string; // plural noun: "files"
  params?: unknown;
  run(ctx: JobContext): Promise<unknown>;
  /**
   * Called when the job ends without `run` having been called: cancelled while queued ('paused' or
   * 'stopped'), or its row could not be marked running ('failed', with why), so that what the job
   * stands for (a training run's row) does not stay queued. Best effort: an error here is dropped.
   */
  notStarted?(project: Project, status: 'paused' | 'stopped' | 'failed', error: AppErrorData | null): void;
}

const EMIT_EVERY_MS = 100; // UI updates at most 10 times a second
const SAVE_EVERY_MS = 1000; // progress rows written at most once a second
const RATE_SMOOTHING = 0.3; // weight of the newest rate sample in the moving average

/** Exponentially smoothed rate and the ETA it implies. Pure and separately tested. */
export class RateMeter {
  #lastT: number | undefined;
  #lastDone = 0;
  #rate: number | null = null;

  update(done: number, nowMs: number): void {
    // Until something is counted, the clock starts again: time spent before the first unit (a
    // training run loading its images) is not part of the rate.
    if (this.#lastT === undefined || (this.#rate === null && done === this.#lastDone)) {
      this.#lastT = nowMs;
      this.#lastDone = done;
      return;
    }
    const dt = (nowMs - this.#lastT) / 1000;
    if (dt < 0.2) return; // too short an interval gives a noisy rate
    const sample = Math.max(0, done - this.#lastDone) / dt;
    this.#rate = this.#rate === null ? sample : RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * this.#rate;
    this.#lastT = nowMs;
    this.#lastDone = done;
  }

  get rate(): number | null {
    return this.#rate;
  }

  eta(done: number, total: number | null): number | null {
    if (total === null || this.#rate === null || this.#rate <= 0) return null;
    return Math.max(0, (total - done) / this.#rate);
  }
}

interface Running {
  id: string;
  spec: JobSpec;
  abort: AbortController;
  /** How it was asked to end (`JobContext.cancelMode`). */
  mode: 'pause' | 'stop' | null;
  meter: RateMeter;
  done: number;
  total: number | null;
  message: string | null;
  lastEmit: number;
  lastSave: number;
}

/** How "That task has already …" ends, by the status a job ended with. */
const ENDED_AS: Record<JobStatus, string> = {
  completed: 'finished',
  failed: 'failed',
  stopped: 'been stopped',
  paused: 'been paused',
  interrupted: 'been interrupted',
  // a row left so by a job whose end could not be recorded
  running: 'ended',
  queued: 'ended',
};

export class JobRunner {
  readonly #project: Project;
  readonly #worker: WorkerClient;
  readonly #emit: (job: Job) => void;
  readonly #queue: { id: string; spec: JobSpec; abort: AbortController }[] = [];
  #current: Running | undefined;
  /** Final states of jobs whose row could not be written (see the header), by id. */
  readonly #unsaved = new Map<string, Job>();
  #idle: Promise<void> = Promise.resolve();
  #drain: (() => void) | undefined;

  constructor(project: Project, worker: WorkerClient, emit: (job: Job) => void) {
    this.#project = project;
    this.#worker = worker;
    this.#emit = emit;
  }

  enqueue(spec: JobSpec): Job {
    const id = randomUUID();
    const job = this.#project.jobs.insert({ id, type: spec.type, title: spec.title, params: spec.params ?? {}, unit: spec.unit });
    this.#queue.push({ id, spec, abort: new AbortController() });
    this.#emit(job);
    if (!this.#current && this.#queue.length === 1) {
      this.#idle = new Promise((r) => (this.#drain = r));
      queueMicrotask(() => void this.#pump());
    }
    return job;
  }

  /**
   * Stops a queued or running job. `pause` ends it as `paused` (a training run keeps its
   * checkpoint and can go on later); the job sees the mode as `ctx.cancelMode`. Cancelling a
   * finished job is a conflict.
   */
  cancel(id: string, mode: 'stop' | 'pause' = 'stop'): Job {
    const queued = this.#queue.findIndex((q) => q.id === id);
    if (queued >= 0) {
      // The row first: if it cannot be written (a full disk), the job stays queued and the caller hears why.
      this.#project.jobs.setStatus(id, mode === 'pause' ? 'paused' : 'stopped', { message: mode === 'pause' ? 'Paused before it started.' : 'Cancelled before it started.' });
      const [removed] = this.#queue.splice(queued, 1);
      const job = this.#project.jobs.get(id)!;
      this.#emit(job);
      this.#notStarted(removed!.spec, mode === 'pause' ? 'paused' : 'stopped', null);
      return job;
    }
    if (this.#current?.id === id) {
      const r = this.#current;
      if (r.mode !== 'stop') r.mode = mode;
      r.abort.abort(mode);
      return this.#live(r);
    }
    // A job that ended with its row unwritten (a full disk) ended as #unsaved says, whatever the row.
    const job = this.#unsaved.get(id) ?? this.#project.jobs.get(id);
    if (!job) throw new AppError('not-found', 'That task no longer exists.');
    throw new AppError('conflict', `That task has already ${ENDED_AS[job.status]}.`);
  }

  #notStarted(spec: JobSpec, status: 'paused' | 'stopped' | 'failed', error: AppErrorData | null): void {
    try {
      spec.notStarted?.(this.#project, status, error);
    } catch {
      // best effort (see JobSpec.notStarted)
    }
  }

  list(): Job[] {
    const cur = this.#current;
    return this.#project.jobs.list().map((j) => (j.id === cur?.id ? this.#live(cur) : (this.#unsaved.get(j.id) ?? j)));
  }

  get(id: string): Job | undefined {
    if (this.#current?.id === id) return this.#live(this.#current);
    return this.#unsaved.get(id) ?? this.#project.jobs.get(id);
  }

  /** Resolves when the queue is empty and nothing runs. */
  whenIdle(): Promise<void> {
    return this.#idle;
  }

  /** Cancels everything and waits for the running job to wind down. */
  async dispose(): Promise<void> {
    for (const q of this.#queue.splice(0)) {
      try {
        this.#project.jobs.setStatus(q.id, 'stopped', { message: 'Cancelled when the project closed.' });
      } catch {
        // a full disk: the row stays queued, and the next open marks it interrupted
      }
    }
    this.#current?.abort.abort();
    await this.#idle;
  }

  #live(r: Running): Job {
    const base = this.#project.jobs.get(r.id)!;
    return {
      ...base,
      progress: { done: r.done, total: r.total, unit: r.spec.unit, ratePerSecond: r.meter.rate, etaSeconds: r.meter.eta(r.done, r.total) },
      message: r.message ?? base.message,
    };
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      const r: Running = { ...next, mode: null, meter: new RateMeter(), done: 0, total: null, message: null, lastEmit: 0, lastSave: 0 };
      this.#current = r;
      await this.#runOne(r);
      this.#current = undefined;
    }
    this.#drain?.();
  }

  #stopped(r: Running, result: unknown): ['paused' | 'stopped', { message: string; result: unknown }] {
    return r.mode === 'pause' ? ['paused', { message: 'Paused.', result: result ?? null }] : ['stopped', { message: 'Cancelled.', result: result ?? null }];
  }

  async #runOne(r: Running): Promise<void> {
    const jobs = this.#project.jobs;
    let outcome: [JobStatus, { error?: AppErrorData; message?: string; result?: unknown }];
    let started = false;
    try {
      jobs.setStatus(r.id, 'running');
      this.#emit(this.#live(r));
      started = true;
      const result = await r.spec.run(this.#context(r));
      outcome = r.abort.signal.aborted ? this.#stopped(r, result) : ['completed', { result: result ?? null }];
    } catch (err) {
      const data = toErrorData(err);
      if (data.kind === 'cancelled' || r.abort.signal.aborted) outcome = this.#stopped(r, null);
      else outcome = ['failed', { error: data, message: data.message }];
      if (!started) this.#notStarted(r.spec, 'failed', data);
    }
    this.#emit(this.#finish(r, ...outcome));
  }

  #context(r: Running): JobContext {
    return {
      jobId: r.id,
      signal: r.abort.signal,
      get cancelMode() {
        return r.mode;
      },
      project: this.#project,
      worker: this.#worker,
      progress: (done, total, message) => {
        const now = Date.now();
        r.done = done;
        if (total !== undefined) r.total = total;
        if (message !== undefined) r.message = message;
        r.meter.update(done, now);
        if (now - r.lastSave >= SAVE_EVERY_MS) {
          r.lastSave = now;
          try {
            this.#project.jobs.setProgress(r.id, r.done, r.total, r.message);
          } catch {
            // Best effort (a full disk): the job's own writes fail in its own words, and the final row catches up.
          }
        }
        if (now - r.lastEmit >= EMIT_EVERY_MS) {
          r.lastEmit = now;
          this.#emit(this.#live(r));
        }
      },
    };
  }

  /** Writes a finished job's row; if that fails, keeps its outcome in memory. Returns the job as it ended. */
  #finish(r: Running, status: JobStatus, extra: { error?: AppErrorData; message?: string; result?: unknown }): Job {
    const jobs = this.#project.jobs;
    try {
      jobs.setProgress(r.id, r.done, r.total, r.message);
      jobs.setStatus(r.id, status, extra);
      return jobs.get(r.id)!;
    } catch {
      const now = new Date().toISOString();
      const job: Job = {
        ...this.#live(r),
        status,
        progress: { done: r.done, total: r.total, unit: r.spec.unit, ratePerSecond: null, etaSeconds: null },
        message: extra.message ?? r.message,
        error: extra.error ?? null,
        result: extra.result ?? null,
        finishedAt: now,
      };
      this.#unsaved.set(r.id, job);
      return job;
    }
  }
}
