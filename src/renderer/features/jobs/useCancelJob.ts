import { useCallback, useState } from 'react';
import type { Job } from '../../../shared/contract';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';

/** Cancels a job: `[cancelling, cancel(job)]`; the updated job goes to `onJob`, errors to a notification. */
export function useCancelJob(onJob: (job: Job) => void): [boolean, (job: Job | null | undefined) => Promise<void>] {
  const client = useClient();
  const [cancelling, setCancelling] = useState(false);
  const cancel = useCallback(
    async (job: Job | null | undefined) => {
      if (!job) return;
      setCancelling(true);
      try {
        onJob(await client.call('jobs.cancel', { id: job.id }));
      } catch (err) {
        notifyError(err);
      } finally {
        setCancelling(false);
      }
    },
    [client, onJob],
  );
  return [cancelling, cancel];
}
