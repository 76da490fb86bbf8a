import { describe, expect, it } from 'vitest';
import { makeJob } from '../../test-utils/fakeClient';
import { activeJobOfType, applyJobUpdate, finishNotice, statusExplanation } from './jobsState';

describe('applyJobUpdate', () => {
  it('puts a new job on top and replaces a known one in place', () => {
    const a = makeJob({ id: 'a' });
    const b = makeJob({ id: 'b' });
    const jobs = applyJobUpdate(applyJobUpdate([], a), b);
    expect(jobs.map((j) => j.id)).toEqual(['b', 'a']);
    const done = makeJob({ id: 'a', status: 'completed' });
    const next = applyJobUpdate(jobs, done);
    expect(next.map((j) => j.id)).toEqual(['b', 'a']);
    expect(next[1]).toBe(done);
    expect(jobs[1]).toBe(a); // the old list is not changed
  });

  it('ignores a late "running" update for a job that already finished', () => {
    const jobs = [makeJob({ id: 'a', status: 'stopped' })];
    expect(applyJobUpdate(jobs, makeJob({ id: 'a', status: 'running' }))).toBe(jobs);
  });
});

describe('activeJobOfType', () => {
  it('finds the newest queued, running or paused job of a type', () => {
    const jobs = [makeJob({ id: 'x', status: 'completed' }), makeJob({ id: 'y', status: 'paused' })];
    expect(activeJobOfType(jobs, 'verify')?.id).toBe('y');
    expect(activeJobOfType(jobs, 'train')).toBeUndefined();
  });
});

describe('finishNotice', () => {
  it('notifies once, on the change into a finished status', () => {
    const running = makeJob({ status: 'running' });
    expect(finishNotice(running, makeJob({ status: 'completed', message: 'All 400 files are in place.' }))).toEqual({
      color: 'green',
      title: 'Verify project files: done',
      message: 'All 400 files are in place.',
    });
    expect(finishNotice(makeJob({ status: 'completed' }), makeJob({ status: 'completed' }))).toBeNull();
    expect(finishNotice(running, makeJob({ status: 'running' }))).toBeNull();
  });

  it('uses the error sentence for a failure and grey for a stop', () => {
    const failed = makeJob({ status: 'failed', error: { kind: 'disk-full', message: 'The disk is full.' } });
    expect(finishNotice(undefined, failed)).toMatchObject({ color: 'red', message: 'The disk is full.' });
    expect(finishNotice(undefined, makeJob({ status: 'stopped' }))?.color).toBe('gray');
    expect(finishNotice(undefined, makeJob({ status: 'interrupted' }))).toBeNull();
  });
});

describe('statusExplanation', () => {
  it('explains an interrupted job', () => {
    expect(statusExplanation(makeJob({ status: 'interrupted' }))).toBe('The app closed while this was running.');
  });

  it('says what a queued job waits for, and how to go before a training run', () => {
    const queued = makeJob({ id: 'q', type: 'generate', status: 'queued' });
    const training = makeJob({ id: 't', type: 'train', title: 'Train run-20261129-005803-fc98', status: 'running' });
    const verifying = makeJob({ id: 'v', type: 'verify', title: 'Verify project files', status: 'running' });
    expect(statusExplanation(queued, [queued, training])).toBe(
      'Waits for “Train run-20261129-005803-fc98” to finish: one task runs at a time. To start this now, pause that run on the Training screen; Resume carries it on afterwards.',
    );
    expect(statusExplanation(queued, [queued, verifying])).toBe('Waits for “Verify project files” to finish: one task runs at a time.');
    expect(statusExplanation(queued, [queued])).toBe('Starts when the job before it has finished.');
  });
});
