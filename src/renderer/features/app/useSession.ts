import { useCallback, useEffect, useReducer, useRef } from 'react';
import type { Job, ProjectStatus } from '../../../shared/contract';
import { useClient, useEvent, useOnReconnect, asApiError } from '../../api/hooks';
import { notifyError, notifyNotice } from '../../lib/notify';
import { finishNotice } from '../jobs/jobsState';
import { initialSession, sessionReducer, type Session } from './sessionState';

export interface SessionHandlers {
  /** After create / open / close, or a project.changed event. */
  setProject: (project: ProjectStatus | null) => void;
  /** A job returned by a call or carried by `job.updated`; notifies when it has just finished. */
  applyJob: (job: Job) => void;
  retry: () => void;
}

/** Loads the current project, follows its events, and refetches after the connection comes back. */
export function useSession(): [Session, SessionHandlers] {
  const client = useClient();
  const [session, dispatch] = useReducer(sessionReducer, initialSession);
  // The last status seen per job id, updated synchronously so two quick events never both notify.
  const lastSeen = useRef(new Map<string, Job>());

  const setProject = useCallback((project: ProjectStatus | null) => {
    lastSeen.current = new Map((project?.jobs ?? []).map((j) => [j.id, j]));
    dispatch({ type: 'project-loaded', project });
  }, []);

  const applyJob = useCallback((job: Job) => {
    const notice = finishNotice(lastSeen.current.get(job.id), job);
    lastSeen.current.set(job.id, job);
    dispatch({ type: 'job-updated', job });
    if (notice) notifyNotice(notice);
  }, []);

  const load = useCallback(
    (quiet: boolean) => {
      client.call('project.current', {}).then(setProject, (err: unknown) => {
        dispatch({ type: 'load-failed', error: asApiError(err) });
        if (quiet) notifyError(err);
      });
    },
    [client, setProject],
  );

  useEffect(() => load(false), [load]);
  useEvent('project.changed', setProject);
  useEvent('job.updated', (job) => {
    const previous = lastSeen.current.get(job.id);
    applyJob(job);
    // A finished import changes the classes and image counts that the project status carries.
    if (job.type === 'import' && job.status === 'completed' && previous?.status !== 'completed') load(true);
  });
  // Events sent while the connection was down are lost; the project status carries them all.
  useOnReconnect(() => load(true));

  const retry = useCallback(() => {
    dispatch({ type: 'loading' });
    load(false);
  }, [load]);

  return [session, { setProject, applyJob, retry }];
}
