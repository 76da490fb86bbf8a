/** Pure state changes for the jobs list, testable without rendering. */
import { FINISHED_STATUSES, type Job, type JobStatus } from '../../../shared/contract';

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

export function isActive(status: JobStatus): boolean {
  return status === 'queued' || status === 'running' || status === 'paused';
}

/**
 * Applies one `job.updated` (or a call's returned job) to the list, most recent first.
 * A known job is replaced in place; an unknown one goes on top. An update never moves a
 * finished job back to an active status (events can arrive after the call that finished it).
 */
export function applyJobUpdate(jobs: readonly Job[], updated: Job): Job[] {
  const i = jobs.findIndex((j) => j.id === updated.id);
  if (i === -1) return [updated, ...jobs];
  const current = jobs[i]!;
  if (isFinished(current.status) && !isFinished(updated.status)) return jobs as Job[];
  const next = jobs.slice();
  next[i] = updated;
  return next;
}

/** The job whose progress the Overview shows for `type`: the newest one still active. */
export function activeJobOfType(jobs: readonly Job[], type: Job['type']): Job | undefined {
  return jobs.find((j) => j.type === type && isActive(j.status));
}

export type FinishNotice = { color: 'green' | 'red' | 'gray'; title: string; message: string };

/**
 * What to tell the person when an update finishes a job, or null. Only the transition into a
 * finished status counts, so a repeated event does not notify twice.
 */
export function finishNotice(previous: Job | undefined, updated: Job): FinishNotice | null {
  if (previous && isFinished(previous.status)) return null;
  switch (updated.status) {
    case 'completed':
      return { color: 'green', title: `${updated.title}: done`, message: updated.message ?? 'Finished without problems.' };
    case 'failed':
      return {
        color: 'red',
        title: `${updated.title}: failed`,
        message: updated.error?.message ?? updated.message ?? 'The job stopped because of an error.',
      };
    case 'stopped':
      return { color: 'gray', title: `${updated.title}: stopped`, message: updated.message ?? 'Stopped before it finished.' };
    case 'interrupted':
    case 'queued':
    case 'running':
    case 'paused':
      return null;
  }
}

export const STATUS_LABEL: Record<JobStatus, string> = {
  queued: 'Waiting',
  running: 'Running',
  paused: 'Paused',
  completed: 'Completed',
  stopped: 'Stopped',
  failed: 'Failed',
  interrupted: 'Interrupted',
};

export const STATUS_COLOR: Record<JobStatus, string> = {
  queued: 'gray',
  running: 'blue',
  paused: 'yellow',
  completed: 'green',
  stopped: 'gray',
  failed: 'red',
  interrupted: 'orange',
};

/**
 * What a queued job waits for, from the project's jobs (one runs at a time): the running one by name,
 * and for a training run (which can take hours) how to go first.
 */
export function waitingSentence(job: Job, jobs: readonly Job[]): string {
  const running = jobs.find((j) => j.status === 'running' && j.id !== job.id);
  if (!running) return 'Starts when the job before it has finished.';
  const waits = `Waits for “${running.title}” to finish: one task runs at a time.`;
  return running.type === 'train' ? `${waits} To start this now, pause that run on the Training screen; Resume carries it on afterwards.` : waits;
}

/** A sentence under the badge where the status alone would leave a question (`jobs`: the project's, for a queued one). */
export function statusExplanation(job: Job, jobs: readonly Job[] = []): string | null {
  switch (job.status) {
    case 'interrupted':
      return 'The app closed while this was running.';
    case 'failed':
      return job.error?.message ?? null;
    case 'queued':
      return waitingSentence(job, jobs);
    case 'paused':
    case 'running':
    case 'completed':
    case 'stopped':
      return null;
  }
}
