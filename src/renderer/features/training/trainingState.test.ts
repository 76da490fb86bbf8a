import { describe, expect, it } from 'vitest';
import {
  allowedActions,
  applyRunUpdate,
  chartGroups,
  chartRows,
  defaultClasses,
  downsampleMetrics,
  epochsFromSteps,
  epochsNote,
  formatDuration,
  formatMsPerStep,
  initialRunId,
  mergeMetrics,
  presetBatch,
  runStatusSentence,
  preparingSentence,
  stallSentence,
  suggestDiffAugment,
} from './trainingState';
import { makeMetrics, makeRun, testBalance } from './testData';

describe('epochs from steps', () => {
  it('counts the real images each step looks at', () => {
    expect(epochsFromSteps(100, 64, 6400, 'dcgan')).toBe(1);
    // the WGAN-GP critic takes 5 real batches per step
    expect(epochsFromSteps(100, 64, 6400, 'cwgan-gp')).toBe(5);
    expect(epochsFromSteps(100, 64, 0, 'dcgan')).toBeNull();
  });

  it('says it in words, with a range for DCGAN over several classes', () => {
    expect(epochsNote(6, 4, 'cwgan-gp', [100, 20])).toBe(
      'That is about 1 pass over the 120 images of the chosen classes (20 real images per step (5 batches of 4)).',
    );
    expect(epochsNote(1000, 64, 'dcgan', [640])).toMatch(/^That is about 100 passes over the 640 images of the chosen class /);
    expect(epochsNote(100, 64, 'dcgan', [6400, 640])).toMatch(/about 1 to 10 passes over each class’s images/);
    expect(epochsNote(100, 64, 'dcgan', [])).toBeNull();
  });

  it('knows the preset batch sizes', () => {
    expect(presetBatch('tiny', 128)).toBe(4);
    expect(presetBatch('default', 64)).toBe(64);
    expect(presetBatch('default', 128)).toBe(32);
  });
});

describe('class choice', () => {
  it('pre-selects the rare classes, or all when none is rare', () => {
    expect(defaultClasses(testBalance)).toEqual(['melanoma', 'dermatofibroma']);
    expect(defaultClasses({ classes: testBalance.classes.map((c) => ({ ...c, needed: 0 })) })).toEqual(['nevus', 'melanoma', 'dermatofibroma']);
  });
  it('suggests DiffAugment for small classes', () => {
    expect(suggestDiffAugment([1294, 120])).toBe(true);
    expect(suggestDiffAugment([1294, 900])).toBe(false);
    expect(suggestDiffAugment([])).toBe(false);
  });
});

describe('allowedActions', () => {
  it('enables the controls that make sense for each status', () => {
    expect(allowedActions('running')).toEqual({ pause: true, resume: false, stop: true });
    expect(allowedActions('paused')).toEqual({ pause: false, resume: true, stop: true });
    expect(allowedActions('interrupted')).toEqual({ pause: false, resume: true, stop: true });
    expect(allowedActions('queued')).toEqual({ pause: false, resume: false, stop: true });
    for (const s of ['completed', 'stopped'] as const) expect(allowedActions(s)).toEqual({ pause: false, resume: false, stop: false });
    expect(allowedActions('failed')).toEqual({ pause: false, resume: true, stop: false }); // try again
  });
});

describe('runStatusSentence', () => {
  it('explains an interrupted run and a failure in words', () => {
    expect(runStatusSentence(makeRun({ status: 'interrupted', checkpointStep: 1200 }))).toBe(
      'GAN Augment closed while this was training; resume from step 1,200.',
    );
    expect(runStatusSentence(makeRun({ status: 'failed', checkpointStep: null, error: { kind: 'internal', message: 'The graphics card ran out of memory.' } }))).toBe(
      'The graphics card ran out of memory. Resume tries again from the beginning.',
    );
    const lost = 'The GPU stopped working (WebGPU lost the device: reset). Your project is safe, and a training run can continue from its last checkpoint.';
    expect(runStatusSentence(makeRun({ status: 'failed', checkpointStep: 1500, error: { kind: 'device-lost', message: lost } }))).toBe(
      `${lost} Resume tries again from step 1,500.`,
    );
    // a full disk: where space can be found in the app
    const full = 'The disk holding the project is full, so training stopped at step 7. Free some space, then resume the run.';
    expect(runStatusSentence(makeRun({ status: 'failed', checkpointStep: 5, error: { kind: 'disk-full', message: full } }))).toBe(
      `${full} Resume tries again from step 5. Deleting a run you no longer need (its Delete button) frees the disk its checkpoints take.`,
    );
    expect(runStatusSentence(makeRun({ status: 'running' }))).toBeNull();
  });

  it('says where a paused run resumes: its pause checkpoint, an earlier one, or the beginning', () => {
    expect(runStatusSentence(makeRun({ status: 'paused', step: 1500, checkpointStep: 1500 }))).toBe('Paused at step 1,500. Resume to carry on from there.');
    // the worker did not answer the pause and was stopped: no checkpoint at the pause
    expect(runStatusSentence(makeRun({ status: 'paused', step: 1530, checkpointStep: 1500 }))).toBe(
      'Paused at step 1,530. Resume carries on from its last checkpoint, step 1,500.',
    );
    expect(runStatusSentence(makeRun({ status: 'paused', step: 30, checkpointStep: null }))).toBe(
      'Paused at step 30, before its first checkpoint: Resume starts it from the beginning.',
    );
    expect(runStatusSentence(makeRun({ status: 'paused', step: 0, checkpointStep: null }))).toBe('Paused before it started. Resume to start it.');
  });
});

describe('stallSentence', () => {
  const at = Date.parse('2025-01-01T10:05:00.000Z');
  const minutes = (m: number) => at + m * 60_000;
  it('speaks up when a running run has been silent for 3 minutes and 30 of its steps', () => {
    // batch 4 at 48 images per second: 83 ms per step, so the 3-minute floor applies
    const run = makeRun({ updatedAt: '2025-01-01T10:05:00.000Z', checkpointStep: 1500 });
    expect(stallSentence(run, minutes(2.9))).toBeNull();
    expect(stallSentence(run, minutes(12))).toBe(
      'No training step has finished for 12 minutes, though a step has been taking under a second. The background worker may be stuck. ' +
        'Pause the run: if the worker does not answer, GAN Augment restarts it, and Resume carries on from its last checkpoint (step 1,500).',
    );
    // 30 s steps: 30 of them is 15 minutes
    const slow = makeRun({ batch: 64, imagesPerSec: 64 / 30, checkpointStep: null });
    expect(stallSentence(slow, minutes(14))).toBeNull();
    expect(stallSentence(slow, minutes(16))).toMatch(/for 16 minutes, though a step has been taking about 30 seconds\..* carries on from the beginning\.$/);
  });

  it('stays quiet for runs that are not running, and before the first step without word of preparing', () => {
    expect(stallSentence(makeRun({ step: 0, imagesPerSec: null }), minutes(60))).toBeNull();
    for (const status of ['paused', 'queued', 'failed', 'completed'] as const) expect(stallSentence(makeRun({ status }), minutes(60))).toBeNull();
  });

  it('before the first step: speaks up when no image has loaded for 3 minutes, or the first step takes 15', () => {
    const since = '2025-01-01T10:05:00.000Z';
    const loading = makeRun({ step: 0, imagesPerSec: null, checkpointStep: null, preparing: { stage: 'loading', done: 1200, total: 25331, since } });
    expect(stallSentence(loading, minutes(2.9))).toBeNull();
    expect(stallSentence(loading, minutes(4))).toBe(
      'No training image has loaded for 4 minutes (1,200 of 25,331 so far). The background worker may be stuck. ' +
        'Pause the run: if the worker does not answer, GAN Augment restarts it, and Resume carries on from the beginning.',
    );
    // A resumed run still has its old speed and step: the preparing stage decides, not them.
    const starting = makeRun({ step: 500, checkpointStep: 500, preparing: { stage: 'starting', done: 0, total: 0, since } });
    expect(stallSentence(starting, minutes(14))).toBeNull();
    expect(stallSentence(starting, minutes(16))).toMatch(/^The first training step has not finished after 16 minutes\. .* from its last checkpoint \(step 500\)\.$/);
    expect(stallSentence({ ...starting, status: 'paused' }, minutes(60))).toBeNull();
  });
});

describe('preparingSentence', () => {
  const since = '2025-01-01T10:05:00.000Z';
  it('says what a running run does before its first step', () => {
    expect(preparingSentence(makeRun({ checkpointStep: null, preparing: { stage: 'loading', done: 0, total: 25331, since } }))).toBe(
      'Loading the training images: 0 of 25,331…',
    );
    expect(preparingSentence(makeRun({ checkpointStep: null, preparing: { stage: 'starting', done: 0, total: 0, since } }))).toBe(
      'Building the networks and taking the first step…',
    );
    expect(preparingSentence(makeRun({ checkpointStep: 1500, preparing: { stage: 'starting', done: 0, total: 0, since } }))).toBe(
      'Loading the checkpoint of step 1,500 and taking the first step…',
    );
  });
  it('is null once training (or for a run that is not running)', () => {
    expect(preparingSentence(makeRun({ preparing: null }))).toBeNull();
    expect(preparingSentence(makeRun({ status: 'paused', preparing: { stage: 'loading', done: 3, total: 9, since } }))).toBeNull();
  });
});

describe('applyRunUpdate', () => {
  it('adds new runs on top, replaces known ones and ignores older updates', () => {
    const a = makeRun({ id: 'a' });
    const runs = applyRunUpdate(applyRunUpdate([], a), makeRun({ id: 'b' }));
    expect(runs.map((r) => r.id)).toEqual(['b', 'a']);
    const newer = makeRun({ id: 'a', step: 200, updatedAt: '2025-01-01T10:06:00.000Z' });
    expect(applyRunUpdate(runs, newer)[1]).toBe(newer);
    const older = makeRun({ id: 'a', step: 50, updatedAt: '2025-01-01T10:01:00.000Z' });
    expect(applyRunUpdate(runs, older)).toBe(runs);
  });
  it('opens the running run first', () => {
    expect(initialRunId([makeRun({ id: 'x', status: 'completed' }), makeRun({ id: 'y', status: 'running' })])).toBe('y');
    expect(initialRunId([makeRun({ id: 'x', status: 'completed' })])).toBe('x');
    expect(initialRunId([])).toBeNull();
  });
});

describe('metrics', () => {
  it('appends new points, and merges overlapping ones by step in any order', () => {
    const a = makeMetrics(1, 10);
    expect(mergeMetrics(a, makeMetrics(11, 12)).map((p) => p.step)).toEqual([...Array(12).keys()].map((i) => i + 1));
    const merged = mergeMetrics(makeMetrics(5, 12), makeMetrics(1, 8));
    expect(merged.map((p) => p.step)).toEqual([...Array(12).keys()].map((i) => i + 1));
    expect(mergeMetrics(a, [])).toBe(a);
  });

  it('keeps at most the maximum, spread over the whole run, with the first and latest points', () => {
    const many = makeMetrics(1, 5000);
    const thin = downsampleMetrics(many, 2000);
    expect(thin.length).toBeLessThanOrEqual(1001);
    expect(thin.length).toBeGreaterThan(900);
    expect(thin[0]!.step).toBe(1);
    expect(thin[thin.length - 1]!.step).toBe(5000);
    // evenly spread: no gap much bigger than the average
    const gaps = thin.slice(1).map((p, i) => p.step - thin[i]!.step);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(10);

    // streaming one point at a time never goes over the maximum and keeps the newest
    let live = makeMetrics(1, 1);
    for (let s = 2; s <= 4500; s++) live = mergeMetrics(live, makeMetrics(s, s), 2000);
    expect(live.length).toBeLessThanOrEqual(2000);
    expect(live[live.length - 1]!.step).toBe(4500);
    expect(live[0]!.step).toBe(1);
  });

  it('draws critic curves only for WGAN-GP, and skips steps without losses', () => {
    expect(chartGroups('dcgan').flatMap((g) => g.series.map((s) => s.name))).toEqual(['dLoss', 'gLoss']);
    expect(chartGroups('cwgan-gp').flatMap((g) => g.series.map((s) => s.name))).toEqual(['dLoss', 'gLoss', 'wasserstein', 'gradientPenalty']);
    const rows = chartRows([...makeMetrics(1, 2), { step: 3, dLoss: null, gLoss: null, wasserstein: null, gradientPenalty: null, stepMs: 1, imagesPerSec: 1 }]);
    expect(rows.map((r) => r.step)).toEqual([1, 2]);
  });
});

describe('time in words', () => {
  it('formats step times and durations', () => {
    expect(formatMsPerStep(349.6)).toBe('350 ms per step');
    expect(formatMsPerStep(2430)).toBe('2.4 seconds per step');
    expect(formatMsPerStep(12_400)).toBe('12 seconds per step');
    expect(formatDuration(4 * 60)).toBe('about 4 minutes');
    expect(formatDuration(5)).toBe('a few seconds');
  });
});
