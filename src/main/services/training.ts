/**
 * Training runs and generation, main side. A run is the lasting record (settings, status, step,
 * last checkpoint, metrics); each start, resume or generation is a job executed by the worker.
 * Main writes every row; the worker writes checkpoints, sample grids and images to files.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MetricPoint, Run, RunPreparing, TrainSettings } from '../../shared/contract';
import { formatBytes } from '../../shared/disk';
import { presetBatch } from '../../shared/training-defaults';
import { AppError, toErrorData, type AppErrorData } from '../../shared/errors';
import type { TrainItem, TrainTaskSettings } from '../../shared/worker-protocol';
import type { Project } from '../store/project';
import { freeBytes, shortOfRoom } from '../disk';
import type { JobContext, JobSpec } from './jobs';
import type { WorkerClient } from './worker-client';

export type RunEvent = { run: Run; metrics: MetricPoint[] };
export type EmitRun = (e: RunEvent) => void;

interface RunRow {
  id: string;
  model: 'dcgan' | 'cwgan-gp';
  classes: string;
  resolution: number;
  preset: string;
  batch: number;
  total_steps: number;
  seed: number;
  checkpoint_every: number;
  settings: string;
  backend_choice: Run['backendChoice'];
  backend: string | null;
  device: string | null;
  backend_warning: string | null;
  status: Run['status'];
  step: number;
  checkpoint_step: number | null;
  checkpoint_dir: string | null;
  sample_step: number | null;
  sample_file: string | null;
  diversity: number | null;
  error: string | null;
  job_id: string | null;
  created_at: string;
  updated_at: string;
}

const DIVERSITY_COLLAPSE = 0.03; // mean pixel distance between fixed-seed samples below which they look alike

export function newRunId(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `run-${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${randomBytes(2).toString('hex')}`;
}

function metricsOf(project: Project, runId: string, sinceStep = 0): MetricPoint[] {
  return (
    project.db
      .prepare(
        `SELECT step, d_loss AS dLoss, g_loss AS gLoss, wasserstein, gradient_penalty AS gradientPenalty, step_ms AS stepMs, images_per_sec AS imagesPerSec
         FROM run_metrics WHERE run_id = ? AND step > ? ORDER BY step`,
      )
      .all(runId, sinceStep) as MetricPoint[]
  );
}

/**
 * Plain-language hints from the recent metrics and the latest sample grid. Pure, tested. A hint
 * suggests DiffAugment only to a run that trains without it.
 */
export function healthHints(model: 'dcgan' | 'cwgan-gp', recent: readonly MetricPoint[], diversity: number | null, step: number, diffAugment = false): string[] {
  const hints: string[] = [];
  const bad = recent.some((m) => [m.dLoss, m.gLoss, m.wasserstein].some((v) => v !== null && !Number.isFinite(v)));
  if (bad) hints.push('The losses became invalid (not a number): training has diverged. Stop it and start again with a smaller batch or another seed.');
  if (diversity !== null && diversity < DIVERSITY_COLLAPSE && step >= 50) {
    hints.push(
      diffAugment
        ? 'The generator may have collapsed: the samples in the grid look almost identical. Start again with another seed, or with more images of this class.'
        : 'The generator may have collapsed: the samples in the grid look almost identical. Try turning on DiffAugment, or start again with another seed.',
    );
  }
  const last = recent.slice(-20);
  if (model === 'cwgan-gp' && last.length >= 10) {
    const w = last.map((m) => Math.abs(m.wasserstein ?? 0));
    const firstHalf = w.slice(0, w.length >> 1).reduce((a, b) => a + b, 0) / (w.length >> 1);
    const secondHalf = w.slice(w.length >> 1).reduce((a, b) => a + b, 0) / (w.length - (w.length >> 1));
    if (secondHalf > 50 && secondHalf > 2 * firstHalf) {
      hints.push("The critic's Wasserstein estimate is large and growing: training may be diverging. Watch the sample grid; if it gets worse, stop and lower the batch size.");
    }
  }
  if (model === 'dcgan' && last.length >= 10 && last.every((m) => m.dLoss !== null && m.dLoss < 0.01)) {
    hints.push(
      diffAugment
        ? 'The discriminator wins every time (its loss is near zero), so the generator learns little. More images of this class usually help.'
        : 'The discriminator wins every time (its loss is near zero), so the generator learns little. DiffAugment or more images of this class usually help.',
    );
  }
  return hints;
}

/**
 * What each running run of a project is doing before its first step (from the worker's 'preparing'
 * items). Kept in memory, not in the database: it means nothing once the task has ended.
 */
const preparingRuns = new WeakMap<Project, Map<string, RunPreparing>>();

function preparingOf(project: Project): Map<string, RunPreparing> {
  let m = preparingRuns.get(project);
  if (!m) preparingRuns.set(project, (m = new Map()));
  return m;
}

/**
 * How runs ended whose row could not be written (a full disk), so that the app still shows it; the row
 * stays `running` and the next open marks it interrupted. Cleared when the run starts again.
 */
const unsavedEnds = new WeakMap<Project, Map<string, { status: RunRow['status']; error: string | null }>>();

/** Saves how a run ended where the disk allows, else keeps it in memory (`unsavedEnds`). */
function endRun(project: Project, runId: string, status: RunRow['status'], error: AppErrorData | null = null): void {
  const json = error ? JSON.stringify(error) : null;
  try {
    updateRun(project, runId, json ? { status, error: json } : { status });
  } catch {
    let m = unsavedEnds.get(project);
    if (!m) unsavedEnds.set(project, (m = new Map()));
    m.set(runId, { status, error: json });
  }
}

/** A checkpoint folder's name, `step-N`, or what a crashed write of it left (`step-N.tmp-PID`, `step-N.old-PID`). */
const CHECKPOINT_NAME = /^step-(\d+)(\.(tmp|old)-\d+)?$/;

/**
 * Removes a run's checkpoints older than the one just recorded (`keep`, at step `step`), and what
 * crashed writes of them left (`step-N.tmp-PID`, `step-N.old-PID`), except those that generated
 * images came from (their provenance names the checkpoint; it can make them again). The app resumes
 * and generates from the latest checkpoint, and a checkpoint of the default 64 px cWGAN-GP (weights
 * and Adam's two moments) takes 79 MB, of the 128 px DCGAN about 290 MB, about 20 of them per run:
 * kept, they filled disks. Called only after the row points at `keep`, so the recorded checkpoint
 * always exists; newer names (a write under way) are left alone. Best effort.
 */
function pruneCheckpoints(project: Project, runId: string, keep: string, step: number): void {
  const dir = dirname(keep);
  try {
    const used = new Set(
      (project.db.prepare('SELECT DISTINCT checkpoint_step AS step FROM generated_images WHERE run_id = ?').all(runId) as { step: number }[]).map((r) => r.step),
    );
    for (const name of readdirSync(dir)) {
      const m = CHECKPOINT_NAME.exec(name);
      if (!m || Number(m[1]) >= step || (used.has(Number(m[1])) && m[2] === undefined)) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  } catch {
    // left for the next checkpoint to remove
  }
}

/**
 * The sentence for a run stopped by a full disk: where it got to and what to do. Each front door adds
 * where Resume starts (the dashboard: "Resume tries again from step N."; the CLI: its --resume command).
 */
function diskFullSentence(step: number): string {
  return `The disk holding the project is full, so training stopped at step ${step.toLocaleString('en')}. Free some space, then resume the run.`;
}

export function rowToRun(project: Project, stored: RunRow): Run {
  const end = stored.status === 'running' || stored.status === 'queued' ? unsavedEnds.get(project)?.get(stored.id) : undefined;
  const r = end ? { ...stored, ...end } : stored;
  const recent = (
    project.db
      .prepare(
        `SELECT step, d_loss AS dLoss, g_loss AS gLoss, wasserstein, gradient_penalty AS gradientPenalty, step_ms AS stepMs, images_per_sec AS imagesPerSec
         FROM run_metrics WHERE run_id = ? ORDER BY step DESC LIMIT 20`,
      )
      .all(r.id) as MetricPoint[]
  ).reverse();
  const msPerStep = recent.length ? recent.reduce((a, m) => a + m.stepMs, 0) / recent.length : null;
  const running = r.status === 'running';
  return {
    id: r.id,
    model: r.model,
    classes: JSON.parse(r.classes) as string[],
    resolution: r.resolution,
    preset: r.preset,
    batch: r.batch,
    totalSteps: r.total_steps,
    seed: r.seed,
    backendChoice: r.backend_choice,
    backend: r.backend,
    device: r.device,
    backendWarning: r.backend_warning,
    status: r.status,
    step: r.step,
    checkpointStep: r.checkpoint_step,
    sampleStep: r.sample_step,
    imagesPerSec: running && recent.length ? recent[recent.length - 1]!.imagesPerSec : null,
    etaSeconds: running && msPerStep !== null ? ((r.total_steps - r.step) * msPerStep) / 1000 : null,
    health: healthHints(r.model, recent, r.diversity, r.step, (JSON.parse(r.settings) as { diffAugment?: boolean }).diffAugment === true),
    error: r.error ? (JSON.parse(r.error) as AppErrorData) : null,
    jobId: r.job_id,
    preparing: running ? (preparingRuns.get(project)?.get(r.id) ?? null) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function getRow(project: Project, runId: string): RunRow {
  const row = project.db.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as RunRow | undefined;
  if (!row) throw new AppError('not-found', `There is no training run "${runId}" in this project.`);
  return row;
}

export function getRun(project: Project, runId: string): Run {
  return rowToRun(project, getRow(project, runId));
}

export function listRuns(project: Project): Run[] {
  return (project.db.prepare('SELECT * FROM runs ORDER BY created_at DESC').all() as RunRow[]).map((r) => rowToRun(project, r));
}

export function runDetail(project: Project, runId: string): { run: Run; metrics: MetricPoint[] } {
  return { run: getRun(project, runId), metrics: metricsOf(project, runId) };
}

export function latestSample(project: Project, runId: string): { step: number; image: string } | null {
  const r = getRow(project, runId);
  if (!r.sample_file || r.sample_step === null) return null;
  const file = join(project.dir, r.sample_file);
  if (!existsSync(file)) return null;
  return { step: r.sample_step, image: `data:image/png;base64,${readFileSync(file).toString('base64')}` };
}

function updateRun(project: Project, runId: string, fields: Partial<Record<keyof RunRow, unknown>>): void {
  const keys = Object.keys(fields);
  if (keys.length === 0) return;
  const sets = keys.map((k) => `${k} = @${k}`).join(', ');
  project.db.prepare(`UPDATE runs SET ${sets}, updated_at = @updated_at WHERE id = @id`).run({ ...fields, id: runId, updated_at: new Date().toISOString() });
}

/** Training images of these classes (train split only: validation and test stay unseen), class index = position. */
export function trainingFiles(project: Project, classes: readonly string[]): { files: { path: string; classIndex: number }[]; grayscale: boolean } {
  const files: { path: string; classIndex: number }[] = [];
  let gray = true;
  const q = project.db.prepare(
    `SELECT i.cache_file, i.colour_space FROM images i JOIN classes c ON c.id = i.class_id
     LEFT JOIN image_splits s ON s.image_id = i.id
     WHERE c.name = ? AND i.status = 'ok' AND i.cache_file IS NOT NULL AND COALESCE(s.split, 'train') = 'train' ORDER BY i.id`,
  );
  classes.forEach((name, classIndex) => {
    const rows = q.all(name) as { cache_file: string; colour_space: string | null }[];
    if (rows.length === 0) throw new AppError('validation', `The class "${name}" has no training images. Import some, or choose another class.`, { field: 'classes' });
    for (const r of rows) {
      files.push({ path: join(project.dir, r.cache_file), classIndex });
      if (r.colour_space !== 'b-w') gray = false;
    }
  });
  return { files, grayscale: gray };
}

export function taskSettings(s: TrainSettings, classes: readonly string[], seed: number, grayscale: boolean): TrainTaskSettings {
  return {
    model: s.model,
    resolution: s.resolution,
    preset: s.preset,
    ...(s.batch ? { batch: s.batch } : {}),
    diffAugment: s.diffAugment,
    channels: grayscale ? 1 : 3,
    numClasses: classes.length,
    seed,
    backend: s.backend,
  };
}

/** Creates the run rows: one per class for DCGAN, one for all classes for the conditional WGAN-GP. */
export function createRuns(project: Project, s: TrainSettings): string[] {
  const known = new Set(project.classes().map((c) => c.name));
  for (const c of s.classes) if (!known.has(c)) throw new AppError('validation', `There is no class named "${c}" in this project.`, { field: 'classes' });
  const groups = s.model === 'dcgan' ? s.classes.map((c) => [c]) : [s.classes];
  const now = new Date().toISOString();
  const insert = project.db.prepare(
    `INSERT INTO runs (id, model, classes, resolution, preset, batch, total_steps, seed, checkpoint_every, settings, backend_choice, status, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
  );
  const ids: string[] = [];
  project.db.transaction(() => {
    for (const classes of groups) {
      const id = newRunId();
      const seed = s.seed ?? randomBytes(4).readUInt32LE() % 2 ** 31;
      const settings = taskSettings(s, classes, seed, trainingFiles(project, classes).grayscale);
      const checkpointEvery = s.checkpointEvery ?? Math.min(1000, Math.max(1, Math.ceil(s.steps / 20)));
      insert.run(id, s.model, JSON.stringify(classes), s.resolution, s.preset, s.batch ?? presetBatch(s.preset, s.resolution), s.steps, seed, checkpointEvery, JSON.stringify(settings), s.backend, now, now);
      ids.push(id);
    }
  })();
  return ids;
}

export interface TrainOutcome {
  run: string;
  step: number;
  backend: string | null;
  device: string | null;
  checkpoint: string | null;
  metrics: MetricPoint | null;
}

/**
 * Records a run as waiting its turn for job `jobId`. An end kept only in memory from before (a full
 * disk, `unsavedEnds`) no longer applies: the run is queued again.
 */
export function markQueued(project: Project, runId: string, jobId: string): void {
  project.db.prepare(`UPDATE runs SET status = 'queued', job_id = ?, updated_at = ? WHERE id = ?`).run(jobId, new Date().toISOString(), runId);
  unsavedEnds.get(project)?.delete(runId);
}

/** The words of the refusal to train a run to fewer steps than it has done (`runs.resume` checks it first). */
export function tooFewSteps(step: number): AppError {
  return new AppError('validation', `This run is already at step ${step}; choose a total of at least that.`, { field: 'steps' });
}

/**
 * Ends runs that were made or queued to train but whose job never started (its row could not be
 * written, or it failed before its first step), so that none stays "queued" with nothing behind it.
 * Best effort, as `endRun` is.
 */
export function endUnstartedRuns(project: Project, runIds: readonly string[], status: 'paused' | 'stopped' | 'failed', error: AppErrorData | null): void {
  for (const runId of runIds) endRun(project, runId, status, error);
}

/**
 * Removes a run's checkpoints newer than the one its row records (and their crashed writes): the
 * worker saves one more when a task is cancelled, also when main cancelled it because it could not
 * record the run's progress (a full disk). Unrecorded, it would only take space: Resume starts from
 * the recorded one. Best effort.
 */
function removeUnrecordedCheckpoints(project: Project, runId: string): void {
  try {
    const recorded = getRow(project, runId).checkpoint_step ?? 0;
    const dir = join(project.runFolders(runId).run, 'checkpoints');
    for (const name of readdirSync(dir)) {
      const m = CHECKPOINT_NAME.exec(name);
      if (m && Number(m[1]) > recorded) rmSync(join(dir, name), { recursive: true, force: true });
    }
  } catch {
    // no checkpoints yet, or the folder cannot be read: nothing to remove
  }
}

/** The job that trains (or resumes) one run up to `totalSteps`. */
export function trainSpec(runId: string, emit: EmitRun, opts: { totalSteps?: number } = {}): JobSpec {
  const ended = (project: Project, status: 'paused' | 'stopped' | 'failed', error: AppErrorData | null) => {
    endRun(project, runId, status, error);
    emit({ run: getRun(project, runId), metrics: [] });
  };
  return {
    type: 'train',
    title: `Train ${runId}`,
    unit: 'steps',
    params: { runId },
    notStarted: ended,
    async run(ctx: JobContext) {
      const { project } = ctx;
      let row: RunRow;
      let files: ReturnType<typeof trainingFiles>['files'];
      // Up to its first step a failure (too few steps, a class left without training images, a full
      // disk) ends the run as failed, in words, rather than leave it queued.
      try {
        row = getRow(project, runId);
        if (opts.totalSteps !== undefined) {
          if (opts.totalSteps < row.step) throw tooFewSteps(row.step);
          updateRun(project, runId, { total_steps: opts.totalSteps });
          row = getRow(project, runId);
        }
        ({ files } = trainingFiles(project, JSON.parse(row.classes) as string[]));
        // Back to the checkpoint it resumes from: the loss points of steps after it (an attempt that
        // crashed or failed) go, so that the chart and the health hints read only this attempt's.
        const from = row.checkpoint_step ?? 0;
        project.db.transaction(() => {
          project.db.prepare('DELETE FROM run_metrics WHERE run_id = ? AND step > ?').run(runId, from);
          updateRun(project, runId, { status: 'running', job_id: ctx.jobId, error: null, step: from });
        })();
      } catch (err) {
        ended(project, 'failed', toErrorData(err));
        throw err;
      }
      const resumeFrom = row.checkpoint_dir ? join(project.dir, row.checkpoint_dir) : null;
      unsavedEnds.get(project)?.delete(runId);
      // Where the run has got to, as the worker reported it (the row may not take it: a full disk).
      let reached = row.checkpoint_step ?? 0;
      let sentStep = row.checkpoint_step ?? 0;
      const publish = () => {
        const metrics = metricsOf(project, runId, sentStep);
        if (metrics.length) sentStep = metrics[metrics.length - 1]!.step;
        emit({ run: getRun(project, runId), metrics });
      };
      publish();
      const insertMetric = project.db.prepare(
        `INSERT OR REPLACE INTO run_metrics (run_id, step, d_loss, g_loss, wasserstein, gradient_penalty, step_ms, images_per_sec)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const preparing = preparingOf(project);
      const onItem = (raw: unknown) => {
        const item = raw as TrainItem;
        switch (item.kind) {
          case 'preparing':
            preparing.set(runId, { stage: item.stage, done: item.done, total: item.total, since: new Date().toISOString() });
            // The job's words too (the CLI's line, the jobs list); the step count has not moved, so the
            // rate meter's clock starts again (it counts from the first step).
            ctx.progress(
              row.checkpoint_step ?? 0,
              row.total_steps,
              item.stage === 'loading'
                ? `Loading the training images: ${item.done.toLocaleString('en')} of ${item.total.toLocaleString('en')}…`
                : 'Taking the first step…',
            );
            break;
          case 'backend':
            updateRun(project, runId, { backend: item.name, device: item.device, backend_warning: item.warning });
            break;
          case 'metrics':
            project.db.transaction(() => {
              for (const m of item.points) insertMetric.run(runId, m.step, m.dLoss, m.gLoss, m.wasserstein, m.gradientPenalty, m.stepMs, m.imagesPerSec);
            })();
            reached = item.points[item.points.length - 1]!.step;
            updateRun(project, runId, { step: reached });
            preparing.delete(runId); // a step is done (its progress message may come after this)
            break;
          case 'checkpoint':
            updateRun(project, runId, { checkpoint_step: item.step, checkpoint_dir: project.relative(item.dir), step: item.step });
            reached = item.step;
            pruneCheckpoints(project, runId, item.dir, item.step);
            // (not after the last one, nor when the run is pausing or stopping anyway)
            if (item.step < row.total_steps && !ctx.signal.aborted) stopIfDiskNearlyFull(project.dir, item.dir, item.step);
            break;
          case 'sample':
            updateRun(project, runId, { sample_step: item.step, sample_file: project.relative(item.file), diversity: item.diversity });
            break;
        }
        publish();
      };
      ctx.progress(row.checkpoint_step ?? 0, row.total_steps, `Loading ${files.length.toLocaleString('en')} training images…`);
      try {
        await ctx.worker.runTask(
          {
            kind: 'train',
            runDir: project.runFolders(runId).run,
            settings: JSON.parse(row.settings) as TrainTaskSettings,
            files,
            totalSteps: row.total_steps,
            checkpointEvery: row.checkpoint_every,
            resumeFrom,
          },
          {
            signal: ctx.signal,
            onItem,
            onProgress: (done, total) => {
              reached = done;
              ctx.progress(done, total, `Step ${done} of ${total}`);
              // The first step is done: no longer preparing. Its step (and updated_at, from which a
              // resumed run's stall alert counts) are saved now, not at the next metrics.
              if (preparing.delete(runId)) {
                updateRun(project, runId, { step: done });
                publish();
              }
            },
          },
        );
      } catch (err) {
        preparing.delete(runId);
        const data = toErrorData(err);
        if (data.kind === 'cancelled' || ctx.signal.aborted) {
          endRun(project, runId, ctx.cancelMode === 'pause' ? 'paused' : 'stopped');
          publish();
          throw err;
        }
        const failure =
          data.kind === 'disk-full' && !(err instanceof DiskNearlyFull) ? new AppError('disk-full', diskFullSentence(reached), { cause: err }) : err;
        endRun(project, runId, 'failed', toErrorData(failure));
        removeUnrecordedCheckpoints(project, runId);
        publish();
        throw failure;
      }
      preparing.delete(runId);
      if (ctx.signal.aborted) {
        endRun(project, runId, ctx.cancelMode === 'pause' ? 'paused' : 'stopped');
        publish();
        return null;
      }
      endRun(project, runId, 'completed');
      publish();
      const final = getRow(project, runId);
      const last = metricsOf(project, runId, final.step - 1)[0] ?? null;
      const outcome: TrainOutcome = {
        run: runId,
        step: final.step,
        backend: final.backend,
        device: final.device,
        checkpoint: final.checkpoint_dir ? join(project.dir, final.checkpoint_dir) : null,
        metrics: last,
      };
      return outcome;
    },
  };
}

export async function estimate(project: Project, worker: WorkerClient, s: TrainSettings) {
  const classes = s.model === 'dcgan' ? s.classes.slice(0, 1) : s.classes;
  const { files, grayscale } = trainingFiles(project, classes);
  const settings = taskSettings(s, classes, s.seed ?? 1, grayscale);
  // a few images per class are enough to time a step; the step cost does not depend on the set's size
  const sample = files.filter((_, i) => i % Math.max(1, Math.floor(files.length / 64)) === 0).slice(0, 64);
  const r = (await worker.runTask({ kind: 'train-estimate', settings, files: sample, steps: 2 })) as {
    backend: string;
    device: string;
    warning: string | null;
    msPerStep: number;
    checkpointBytes: number;
  };
  const runs = s.model === 'dcgan' ? s.classes.length : 1;
  return {
    ...r,
    etaSeconds: (r.msPerStep * s.steps * runs) / 1000,
    diskNeededBytes: diskNeeded(r.checkpointBytes, runs),
    diskFreeBytes: freeBytes(project.dir),
  };
}

/**
 * Disk the runs need at most: each finished run keeps its latest checkpoint, and the run training
 * writes its next one before the previous goes (pruneCheckpoints), so one more; plus sample grids,
 * run_metrics rows and the WAL, at most a few MB a run.
 */
export function diskNeeded(checkpointBytes: number, runs: number): number {
  return (runs + 1) * checkpointBytes + runs * 8 * 1024 * 1024;
}

/** A run stopped before the disk is full: its sentence is already the one to show. */
class DiskNearlyFull extends AppError {
  constructor(message: string) {
    super('disk-full', message);
  }
}

/**
 * After a checkpoint: if the disk no longer has room for the next one and the headroom, the run stops
 * here (thrown from the task's callback, so the worker winds the task down), at a checkpoint, before
 * the disk is full, with a sentence that says why and what to do.
 */
function stopIfDiskNearlyFull(projectDir: string, checkpointDir: string, step: number): void {
  let size = 0;
  try {
    for (const f of readdirSync(checkpointDir)) size += statSync(join(checkpointDir, f)).size;
  } catch {
    return;
  }
  const free = shortOfRoom(projectDir, size);
  if (free === null) return;
  throw new DiskNearlyFull(
    `The disk holding the project is nearly full (${formatBytes(free)} free; a checkpoint of this run takes about ${formatBytes(size)}), ` +
      `so training stopped at step ${step.toLocaleString('en')}, where it saved a checkpoint. Free some space, then resume the run.`,
  );
}

/** The job that generates `count` images of one class from a run's latest checkpoint. */
export function generateSpec(runId: string, className: string, count: number, seed: number): JobSpec {
  return {
    type: 'generate',
    title: `Generate ${count} "${className}" images`,
    unit: 'images',
    params: { runId, className, count, seed },
    async run(ctx) {
      const { project } = ctx;
      const row = getRow(project, runId);
      const classes = JSON.parse(row.classes) as string[];
      const classIndex = classes.indexOf(className);
      if (classIndex < 0) throw new AppError('validation', `Run ${runId} was not trained on "${className}" (it knows ${classes.join(', ')}).`, { field: 'className' });
      if (!row.checkpoint_dir || row.checkpoint_step === null) throw new AppError('conflict', `Run ${runId} has no checkpoint yet: let it train for a while first.`);
      const outDir = join(project.runFolders(runId).generated, `step-${row.checkpoint_step}`, className);
      const insert = project.db.prepare(
        `INSERT OR REPLACE INTO generated_images (run_id, checkpoint_step, class_name, seed, latent_index, file, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const generated: { id: number; file: string; class: string; seed: number; latentIndex: number }[] = [];
      ctx.progress(0, count);
      try {
        await ctx.worker.runTask(
          { kind: 'generate', checkpointDir: join(project.dir, row.checkpoint_dir), classIndex: row.model === 'dcgan' ? 0 : classIndex, count, seed, outDir },
          {
            signal: ctx.signal,
            onProgress: (done, total) => ctx.progress(done, total, `Generated ${done} of ${total}`),
            onItem: (raw) => {
              const { latentIndex, file } = raw as { latentIndex: number; file: string };
              const id = Number(insert.run(runId, row.checkpoint_step, className, seed, latentIndex, project.relative(file), ctx.jobId, new Date().toISOString()).lastInsertRowid);
              generated.push({ id, file, class: className, seed, latentIndex });
              // Stops before the disk is full, as imports and training do (the room SQLite and the
              // rest of the computer need); the images made so far are kept and listed.
              const free = shortOfRoom(project.dir);
              if (free !== null) {
                throw new AppError(
                  'disk-full',
                  `The disk holding the project is nearly full (${formatBytes(free)} free), so generation stopped after ${generated.length.toLocaleString('en')} of ${count.toLocaleString('en')} images; those are kept. Free some space, then generate the rest.`,
                );
              }
            },
          },
        );
      } catch (err) {
        removeUnrecorded(project, outDir, { runId, step: row.checkpoint_step, className, seed });
        throw err;
      }
      ctx.progress(count, count, `Generated ${generated.length} "${className}" images from step ${row.checkpoint_step} of ${runId}.`);
      return { generated };
    },
  };
}

/**
 * Deletes the images of a failed generation that the project has no row for (the worker wrote them,
 * main could not record them: a full disk), so that they neither take space nor lie about in the
 * project unlisted. Best effort.
 */
function removeUnrecorded(project: Project, outDir: string, where: { runId: string; step: number; className: string; seed: number }): void {
  const { seed } = where;
  try {
    const rows = project.db
      .prepare('SELECT file FROM generated_images WHERE run_id = ? AND checkpoint_step = ? AND class_name = ? AND seed = ?')
      .all(where.runId, where.step, where.className, seed) as { file: string }[];
    const recorded = new Set(rows.map((r) => join(project.dir, r.file)));
    for (const name of readdirSync(outDir)) {
      const file = join(outDir, name);
      if (name.startsWith(`seed${seed}-`) && !recorded.has(file)) rmSync(file, { force: true });
    }
  } catch {
    // nothing written, or the folder cannot be read: nothing to remove
  }
}

/** Generated images per class name, all of them. */
export function countGenerated(project: Project): Record<string, number> {
  const rows = project.db.prepare('SELECT class_name AS name, COUNT(*) AS n FROM generated_images GROUP BY class_name').all() as { name: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

export function listGenerated(project: Project, filter: { runId?: string; className?: string; limit: number }) {
  const rows = project.db
    .prepare(
      // The newest generation first, each in latent order (as the person asked for them).
      `SELECT id, run_id AS runId, checkpoint_step AS checkpointStep, class_name AS className, seed, latent_index AS latentIndex, file, created_at AS createdAt
       FROM (SELECT *, MAX(id) OVER (PARTITION BY COALESCE(job_id, id)) AS batch FROM generated_images
             WHERE (@runId IS NULL OR run_id = @runId) AND (@className IS NULL OR class_name = @className))
       ORDER BY batch DESC, latent_index ASC, id ASC LIMIT @limit`,
    )
    .all({ runId: filter.runId ?? null, className: filter.className ?? null, limit: filter.limit }) as {
    id: number;
    runId: string;
    checkpointStep: number;
    className: string;
    seed: number;
    latentIndex: number;
    file: string;
    createdAt: string;
  }[];
  return rows.map((r) => {
    const abs = join(project.dir, r.file);
    let thumb: string | null = null;
    try {
      thumb = `data:image/png;base64,${readFileSync(abs).toString('base64')}`;
    } catch {
      thumb = null;
    }
    return { ...r, file: abs, thumb };
  });
}
