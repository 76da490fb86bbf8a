/** What the window knows about the open project and its jobs; changed only by `sessionReducer`. */
import type { Job, ProjectStatus } from '../../../shared/contract';
import type { ApiError } from '../../api/client';
import { applyJobUpdate } from '../jobs/jobsState';

export type Session =
  | { phase: 'loading' }
  | { phase: 'failed'; error: ApiError }
  | { phase: 'ready'; project: ProjectStatus | null; jobs: Job[] };

export type SessionAction =
  | { type: 'loading' }
  | { type: 'load-failed'; error: ApiError }
  | { type: 'project-loaded'; project: ProjectStatus | null }
  | { type: 'job-updated'; job: Job };

export const initialSession: Session = { phase: 'loading' };

export function sessionReducer(state: Session, action: SessionAction): Session {
  switch (action.type) {
    case 'loading':
      return { phase: 'loading' };
    case 'load-failed':
      // Once a project is on screen, a failed refresh keeps it there; the caller says why.
      return state.phase === 'ready' ? state : { phase: 'failed', error: action.error };
    case 'project-loaded':
      return { phase: 'ready', project: action.project, jobs: action.project ? action.project.jobs.slice() : [] };
    case 'job-updated': {
      if (state.phase !== 'ready' || !state.project) return state;
      const jobs = applyJobUpdate(state.jobs, action.job);
      return jobs === state.jobs ? state : { ...state, jobs };
    }
  }
}
