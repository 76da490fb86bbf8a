import { describe, expect, it } from 'vitest';
import type { ProjectStatus } from '../../../shared/contract';
import { ApiError } from '../../api/client';
import { makeJob } from '../../test-utils/fakeClient';
import { initialSession, sessionReducer } from './sessionState';

const project = (jobs = [makeJob({ id: 'a', status: 'completed' })]): ProjectStatus => ({
  path: '/p/x.ganaug',
  name: 'x',
  createdAt: '2025-01-01T00:00:00Z',
  schemaVersion: 1,
  classes: [],
  imageCount: 0,
  jobs,
});

describe('sessionReducer', () => {
  it('takes the jobs from a loaded project and applies updates', () => {
    let s = sessionReducer(initialSession, { type: 'project-loaded', project: project() });
    s = sessionReducer(s, { type: 'job-updated', job: makeJob({ id: 'b' }) });
    expect(s.phase === 'ready' && s.jobs.map((j) => j.id)).toEqual(['b', 'a']);
  });

  it('drops job updates while no project is open', () => {
    const s = sessionReducer(initialSession, { type: 'project-loaded', project: null });
    expect(sessionReducer(s, { type: 'job-updated', job: makeJob() })).toBe(s);
  });

  it('keeps an open project on screen when a refresh fails', () => {
    const ready = sessionReducer(initialSession, { type: 'project-loaded', project: project() });
    const error = new ApiError('internal', 'Could not reach GAN Augment.');
    expect(sessionReducer(ready, { type: 'load-failed', error })).toBe(ready);
    expect(sessionReducer(initialSession, { type: 'load-failed', error })).toEqual({ phase: 'failed', error });
  });
});
