import { Button, Group, Progress, Stack, Text } from '@mantine/core';
import type { Job } from '../../../shared/contract';
import { formatProgressLine, progressPercent } from './format';
import { STATUS_LABEL, waitingSentence } from './jobsState';

interface Props {
  job: Job;
  /** The project's jobs: a queued job says which one it waits for. */
  jobs?: readonly Job[];
  cancelling: boolean;
  onCancel: () => void;
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
