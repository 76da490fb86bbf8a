/** Sentences about the project's tasks, said alike by the window and the desktop app's menu. */
import type { Job } from './contract';

/** The tasks under way or waiting. */
export function activeJobs<J extends Pick<Job, 'status'>>(jobs: readonly J[]): J[] {
  return jobs.filter((j) => j.status === 'running' || j.status === 'queued');
}

/**
 * What closing the project does to the tasks under way or waiting (`jobs`: those), as the app does it:
 * a training run pauses with a checkpoint of the step it reached; anything else is cancelled.
 */
export function closeSentence(jobs: readonly Pick<Job, 'type' | 'title'>[]): string {
  const training = jobs.filter((j) => j.type === 'train').length;
  const others = jobs.length - training;
  const parts: string[] = [];
  if (training > 0) {
    parts.push(
      training === 1
        ? 'The training run pauses with a checkpoint of the step it reached; Resume carries it on when you open the project again.'
        : `The ${training} training runs pause (a running one with a checkpoint of the step it reached); Resume carries them on when you open the project again.`,
    );
  }
  if (others > 0) {
    parts.push(
      `${others === 1 ? 'The other task' : `The ${others} other tasks`} (${jobs.filter((j) => j.type !== 'train').map((j) => j.title).join('; ')}) ${others === 1 ? 'is' : 'are'} cancelled; an import goes on where it stopped when you run it again.`,
    );
  }
  return parts.join(' ');
}
