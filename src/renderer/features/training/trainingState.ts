/** Pure state and wording for the Training screen, testable without rendering. */
import type { z } from 'zod';
import type { BalanceSchema, MetricPoint, Run, TrainSettings } from '../../../shared/contract';
import { formatEta } from '../jobs/format';

export type Balance = z.infer<typeof BalanceSchema>;
export type Model = Run['model'];
export type RunStatus = Run['status'];
export type Resolution = TrainSettings['resolution'];
export type Preset = TrainSettings['preset'];
export type BackendChoice = TrainSettings['backend'];

/** Most points a loss chart keeps; older points are thinned out beyond this. */
export const MAX_CHART_POINTS = 2000;

/** Critic updates per generator step in the conditional WGAN-GP (the worker's n_critic). */
export const WGAN_CRITIC_STEPS = 5;

export { DEFAULT_TRAINING_STEPS, DIFFAUGMENT_SUGGESTED_MAX, presetBatch, suggestDiffAugment } from '../../../shared/training-defaults';

export const MODEL_INFO: Record<Model, { label: string; short: string; description: string }> = {
  dcgan: {
    label: 'DCGAN: one model per class',
    short: 'DCGAN',
    description:
      'Trains a separate, simpler model for each chosen class, as in the report’s first attempt; each class becomes its own run.',
  },
  'cwgan-gp': {
    label: 'Conditional WGAN-GP: one model for all chosen classes',
    short: 'Conditional WGAN-GP',
    description:
      'Trains one model that learns all chosen classes together and is told which class to draw; this gave the best images in the report.',
  },
};

export const BACKEND_LABEL: Record<BackendChoice, string> = {
  auto: 'Automatic (recommended)',
  webgpu: 'Graphics card through WebGPU',
  tensorflow: 'TensorFlow (installed separately)',
  wasm: 'Processor, WebAssembly (no graphics card needed)',
  cpu: 'Processor, plain JavaScript (very slow)',
};

/**
 * How many times training looks at each real image: steps x real images per step / images.
 * A WGAN-GP step updates the critic several times, each on a fresh batch of real images.
 * Returns null when there are no images.
 */
export function epochsFromSteps(steps: number, batch: number, images: number, model: Model): number | null {
  if (!(images > 0) || !(steps > 0) || !(batch > 0)) return null;
  const perStep = model === 'cwgan-gp' ? batch * WGAN_CRITIC_STEPS : batch;
  return (steps * perStep) / images;
}

function roundEpochs(e: number): string {
  if (e >= 100) return Math.round(e).toLocaleString('en');
  if (e >= 10) return String(Math.round(e));
  if (e >= 1) return String(Math.round(e * 10) / 10);
  return String(Math.round(e * 100) / 100);
}

/**
 * The note under the steps field: "That is about 12 passes over the 430 images of the chosen classes."
 * For DCGAN each class has its own model, so the range over the chosen classes is given.
 */
export function epochsNote(steps: number, batch: number, model: Model, classCounts: readonly number[]): string | null {
  const counts = classCounts.filter((c) => c > 0);
  if (counts.length === 0 || !(steps > 0)) return null;
  const perStep = model === 'cwgan-gp' ? `${batch * WGAN_CRITIC_STEPS} real images per step (${WGAN_CRITIC_STEPS} batches of ${batch})` : `${batch} real images per step`;
  if (model === 'cwgan-gp' || counts.length === 1) {
    const images = counts.reduce((a, b) => a + b, 0);
    const e = epochsFromSteps(steps, batch, images, model)!;
    return `That is about ${roundEpochs(e)} ${e === 1 ? 'pass' : 'passes'} over the ${images.toLocaleString('en')} images of the chosen ${counts.length === 1 ? 'class' : 'classes'} (${perStep}).`;
  }
  const most = epochsFromSteps(steps, batch, Math.min(...counts), model)!;
  const least = epochsFromSteps(steps, batch, Math.max(...counts), model)!;
  return `Each class has its own model: that is about ${roundEpochs(least)} to ${roundEpochs(most)} passes over each class’s images (${perStep}).`;
}

/** Classes to pre-select: the rare ones (needed > 0); all of them when none is rare. */
export function defaultClasses(balance: Pick<Balance, 'classes'>): string[] {
  const rare = balance.classes.filter((c) => c.needed > 0).map((c) => c.name);
  return rare.length > 0 ? rare : balance.classes.map((c) => c.name);
}


export interface RunActions {
  pause: boolean;
  resume: boolean;
  stop: boolean;
}

/** Which of Pause / Resume / Stop make sense for a run in this status. */
export function allowedActions(status: RunStatus): RunActions {
  switch (status) {
    case 'queued':
      return { pause: false, resume: false, stop: true };
    case 'running':
      return { pause: true, resume: false, stop: true };
    case 'paused':
      return { pause: false, resume: true, stop: true };
    case 'interrupted':
      return { pause: false, resume: true, stop: true };
    case 'failed': // try again, from the last checkpoint (the GPU stopped, memory ran short, ...)
      return { pause: false, resume: true, stop: false };
    case 'completed':
    case 'stopped':
      return { pause: false, resume: false, stop: false };
  }
}

export function isRunActive(status: RunStatus): boolean {
  return status === 'queued' || status === 'running' || status === 'paused';
}

/** A sentence under the status where the badge alone leaves a question; null otherwise. */
export function runStatusSentence(run: Pick<Run, 'status' | 'checkpointStep' | 'error' | 'step' | 'totalSteps'>): string | null {
  switch (run.status) {
    case 'interrupted':
      return run.checkpointStep
        ? `GAN Augment closed while this was training; resume from step ${run.checkpointStep.toLocaleString('en')}.`
        : 'GAN Augment closed while this was training, before its first checkpoint; resuming starts it from the beginning.';
    case 'failed': {
      const again = run.checkpointStep
        ? `Resume tries again from step ${run.checkpointStep.toLocaleString('en')}.`
        : 'Resume tries again from the beginning.';
      // a full disk: the runs' checkpoints are likely what fills it, and the app can delete them
      const room = run.error?.kind === 'disk-full' ? ' Deleting a run you no longer need (its Delete button) frees the disk its checkpoints take.' : '';
      return `${run.error?.message ?? 'Training stopped because of an error.'} ${again}${room}`;
    }
    case 'queued':
      return 'Waiting to start: runs train one after another.';
    case 'paused':
      return pausedSentence(run);
    case 'stopped':
      return run.checkpointStep
        ? `Stopped at step ${run.step.toLocaleString('en')}. Its last checkpoint (step ${run.checkpointStep.toLocaleString('en')}) can still generate images.`
        : `Stopped at step ${run.step.toLocaleString('en')}.`;
    case 'completed':
      return `Finished all ${run.totalSteps.toLocaleString('en')} steps.`;
    case 'running':
      return null;
  }
}

/**
 * A paused run resumes from its last checkpoint: normally the step it paused at (pausing saves one),
 * but an earlier one when the worker had to be stopped (it did not answer the pause in time).
 */
function pausedSentence(run: Pick<Run, 'checkpointStep' | 'step'>): string {
  const at = run.step.toLocaleString('en');
  if (run.checkpointStep === run.step) return `Paused at step ${at}. Resume to carry on from there.`;
  if (run.checkpointStep) return `Paused at step ${at}. Resume carries on from its last checkpoint, step ${run.checkpointStep.toLocaleString('en')}.`;
  if (run.step === 0) return 'Paused before it started. Resume to start it.';
  return `Paused at step ${at}, before its first checkpoint: Resume starts it from the beginning.`;
}

/** A running run silent for at least this long, and for 30 of its steps, may be stuck. */
export const STALL_MIN_MS = 3 * 60_000;

function formatStepTime(ms: number): string {
  if (ms < 1000) return 'under a second';
  if (ms < 90_000) return `about ${Math.round(ms / 1000)} seconds`;
  return `about ${Math.round(ms / 60_000)} minutes`;
}

/**
 * Before a run's first step is done: what it is doing ("Loading the training images: 1,200 of
 * 25,331…"), or null.
 */
export function preparingSentence(run: Pick<Run, 'status' | 'preparing' | 'checkpointStep'>): string | null {
  const p = run.status === 'running' ? run.preparing : null;
  if (!p) return null;
  if (p.stage === 'loading') return `Loading the training images: ${p.done.toLocaleString('en')} of ${p.total.toLocaleString('en')}…`;
  return run.checkpointStep
    ? `Loading the checkpoint of step ${run.checkpointStep.toLocaleString('en')} and taking the first step…`
    : 'Building the networks and taking the first step…';
}

/** Before the first step: images that stop loading for this long, or a first step this slow, may be stuck. */
export const STALL_LOADING_MS = 3 * 60_000;
export const STALL_STARTING_MS = 15 * 60_000;

/**
 * A running run that has reported nothing for far longer than its steps take (a worker stuck in a
 * computation, a GPU that hangs without being lost), or that is stuck before its first step (no
 * image loaded for 3 minutes; no first step after 15): what the person can do, or null.
 */
export function stallSentence(
  run: Pick<Run, 'status' | 'step' | 'batch' | 'imagesPerSec' | 'updatedAt' | 'checkpointStep' | 'preparing'>,
  now: number,
): string | null {
  if (run.status !== 'running') return null;
  const from = run.checkpointStep ? `from its last checkpoint (step ${run.checkpointStep.toLocaleString('en')})` : 'from the beginning';
  const advice = `The background worker may be stuck. Pause the run: if the worker does not answer, GAN Augment restarts it, and Resume carries on ${from}.`;
  const minutesSince = (iso: string) => Math.round((now - Date.parse(iso)) / 60_000);
  if (run.preparing) {
    const silentMs = now - Date.parse(run.preparing.since);
    if (!Number.isFinite(silentMs)) return null;
    if (run.preparing.stage === 'loading' && silentMs >= STALL_LOADING_MS)
      return `No training image has loaded for ${minutesSince(run.preparing.since)} minutes (${run.preparing.done.toLocaleString('en')} of ${run.preparing.total.toLocaleString('en')} so far). ${advice}`;
    if (run.preparing.stage === 'starting' && silentMs >= STALL_STARTING_MS)
      return `The first training step has not finished after ${minutesSince(run.preparing.since)} minutes. ${advice}`;
    return null;
  }
  if (run.step === 0 || !run.imagesPerSec) return null;
  const stepMs = (run.batch / run.imagesPerSec) * 1000;
  const silentMs = now - Date.parse(run.updatedAt);
  if (!Number.isFinite(silentMs) || silentMs < Math.max(STALL_MIN_MS, 30 * stepMs)) return null;
  return `No training step has finished for ${minutesSince(run.updatedAt)} minutes, though a step has been taking ${formatStepTime(stepMs)}. ${advice}`;
}

/** What the dashboard says between a click on Pause or Stop and the run's answer. */
export function windingSentence(action: 'pause' | 'stop'): string {
  return action === 'pause'
    ? 'Pausing: the current step finishes and a checkpoint is saved…'
    : 'Stopping after the current step…';
}

/**
 * Applies a run from an event or a call to the list (most recent first): a known run is replaced
 * unless the update is older than what we have; an unknown one goes on top.
 */
/** The list without a deleted run. */
export function removeRun(runs: readonly Run[], runId: string): Run[] {
  return runs.filter((r) => r.id !== runId);
}

export function applyRunUpdate(runs: readonly Run[], updated: Run): Run[] {
  const i = runs.findIndex((r) => r.id === updated.id);
  if (i === -1) return [updated, ...runs];
  const current = runs[i]!;
  const a = Date.parse(current.updatedAt);
  const b = Date.parse(updated.updatedAt);
  if (Number.isFinite(a) && Number.isFinite(b) && b < a) return runs as Run[];
  const next = runs.slice();
  next[i] = updated;
  return next;
}

/**
 * Thins points to about max/2, evenly over the step range, keeping the first and the latest
 * point of each bucket (so the newest value is always shown). Input must be sorted by step.
 */
export function downsampleMetrics(points: readonly MetricPoint[], max: number = MAX_CHART_POINTS): MetricPoint[] {
  if (points.length <= max) return points as MetricPoint[];
  const target = Math.max(2, Math.floor(max / 2));
  const first = points[0]!.step;
  const last = points[points.length - 1]!.step;
  const width = (last - first) / target || 1;
  const bucketOf = (p: MetricPoint) => Math.min(target - 1, Math.floor((p.step - first) / width));
  const out: MetricPoint[] = [points[0]!];
  for (let i = 1; i < points.length; i++) {
    const p = points[i]!;
    const next = points[i + 1];
    // keep the last point of each bucket (and the very last point)
    if (!next || bucketOf(next) !== bucketOf(p)) out.push(p);
  }
  return out;
}

/**
 * Merges new points into the chart's points: sorted by step, one point per step (the newer one
 * wins), thinned when longer than `max`. Order of arrival does not matter, so points from
 * `runs.get` and from `run.updated` events can be merged in any order.
 */
export function mergeMetrics(existing: readonly MetricPoint[], incoming: readonly MetricPoint[], max: number = MAX_CHART_POINTS): MetricPoint[] {
  if (incoming.length === 0) return existing as MetricPoint[];
  const lastExisting = existing[existing.length - 1];
  let merged: MetricPoint[];
  const sortedIncoming = [...incoming].sort((a, b) => a.step - b.step);
  if (!lastExisting || sortedIncoming[0]!.step > lastExisting.step) {
    merged = [...existing, ...sortedIncoming];
  } else {
    const byStep = new Map<number, MetricPoint>();
    for (const p of existing) byStep.set(p.step, p);
    for (const p of sortedIncoming) byStep.set(p.step, p);
    merged = [...byStep.values()].sort((a, b) => a.step - b.step);
  }
  return downsampleMetrics(merged, max);
}

export interface ChartSeries {
  name: 'dLoss' | 'gLoss' | 'wasserstein' | 'gradientPenalty';
  label: string;
  color: string;
}

export interface ChartGroup {
  id: 'losses' | 'critic';
  title: string;
  series: ChartSeries[];
}

/**
 * Which curves to draw, in charts of similar scale: D (or critic) and G loss; for WGAN-GP a
 * second chart with the Wasserstein estimate and the gradient penalty.
 */
export function chartGroups(model: Model): ChartGroup[] {
  if (model === 'cwgan-gp') {
    return [
      {
        id: 'losses',
        title: 'Losses',
        series: [
          { name: 'dLoss', label: 'Critic loss', color: 'blue.6' },
          { name: 'gLoss', label: 'Generator loss', color: 'orange.6' },
        ],
      },
      {
        id: 'critic',
        title: 'Critic measures',
        series: [
          { name: 'wasserstein', label: 'Wasserstein estimate', color: 'teal.6' },
          { name: 'gradientPenalty', label: 'Gradient penalty', color: 'grape.6' },
        ],
      },
    ];
  }
  return [
    {
      id: 'losses',
      title: 'Losses',
      series: [
        { name: 'dLoss', label: 'Discriminator loss', color: 'blue.6' },
        { name: 'gLoss', label: 'Generator loss', color: 'orange.6' },
      ],
    },
  ];
}

/** Rows for the line chart; steps whose losses were not read are left out of the curves. */
export function chartRows(points: readonly MetricPoint[]): Record<string, number | null>[] {
  return points
    .filter((p) => p.dLoss !== null || p.gLoss !== null)
    .map((p) => ({ step: p.step, dLoss: p.dLoss, gLoss: p.gLoss, wasserstein: p.wasserstein, gradientPenalty: p.gradientPenalty }));
}

/** A duration in words without "left": "about 4 minutes", "a few seconds". */
export function formatDuration(seconds: number): string {
  return formatEta(seconds).replace(/ left$/, '');
}

/** "350 ms per step" or "2.4 seconds per step". */
export function formatMsPerStep(ms: number): string {
  if (ms < 1000) return `${Math.max(1, Math.round(ms))} ms per step`;
  const s = ms / 1000;
  return `${s < 10 ? Math.round(s * 10) / 10 : Math.round(s)} seconds per step`;
}

/** "DCGAN · melanoma" / "Conditional WGAN-GP · 3 classes". */
export function runTitle(run: Pick<Run, 'model' | 'classes'>): string {
  const classes = run.classes.length <= 3 ? run.classes.join(', ') : `${run.classes.length} classes`;
  return `${MODEL_INFO[run.model].short} · ${classes}`;
}

/** The run to show when the screen opens: the newest active one, else the newest. */
export function initialRunId(runs: readonly Run[]): string | null {
  return (runs.find((r) => r.status === 'running') ?? runs.find((r) => isRunActive(r.status)) ?? runs[0])?.id ?? null;
}
