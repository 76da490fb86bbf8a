import { Button, Group, Progress, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import type { Job } from '../../../shared/contract';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { formatProgressLine, progressPercent } from './format';
import { STATUS_LABEL, waitingSentence } from './jobsState';

interface Props {
  job: Job;
  /** The project's jobs: a queued job says which one it waits for. */
  jobs?: readonly Job[];
  cancelling: boolean;
  onCancel: () => void;
}

/**
 * Beside a task waiting behind a training run: pauses that run (its checkpoint is saved, Resume
 * carries it on later), so the task goes first. The run is found by its job in the runs list.
 */
function PauseTraining({ jobs }: { jobs: readonly Job[] }) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const training = jobs.find((j) => j.status === 'running' && j.type === 'train');
  if (!training) return null;
  const pause = async () => {
    setBusy(true);
    try {
      const run = (await client.call('runs.list', {})).find((r) => r.jobId === training.id);
      if (run) await client.call('runs.pause', { runId: run.id });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button variant="subtle" size="compact-xs" px={0} onClick={() => void pause()} loading={busy} data-testid="job-pause-training">
      Pause that run
    </Button>
  );
}

/** Live progress of one active job: a bar, counts, rate and time left, and a Cancel button. */
export function JobProgress({ job, jobs = [], cancelling, onCancel }: Props) {
  const percent = progressPercent(job.progress);
  const label = `${job.title}: ${STATUS_LABEL[job.status].toLowerCase()}`;
  return (
    <Stack gap={6} data-testid="job-progress" data-job-id={job.id}>
      <Progress
        value={percent ?? 100}
        striped={percent === null || job.status === 'queued'}
        animated={percent === null && job.status === 'running'}
        size="lg"
        radius="xl"
        aria-label={label}
        color={job.status === 'paused' ? 'yellow' : undefined}
      />
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <div>
          <Text size="sm" aria-live="polite">
            {job.status === 'queued' ? 'Waiting to start…' : formatProgressLine(job.progress)}
          </Text>
          {job.status === 'queued' && (
            <Text size="xs" c="dimmed" data-testid="job-waiting">
              {waitingSentence(job, jobs)}
            </Text>
          )}
          {job.status === 'queued' && <PauseTraining jobs={jobs} />}
          {job.message && (
            <Text size="xs" c="dimmed">
              {job.message}
            </Text>
          )}
        </div>
        <Button variant="default" size="xs" onClick={onCancel} loading={cancelling}>
          Cancel
        </Button>
      </Group>
    </Stack>
  );
}
