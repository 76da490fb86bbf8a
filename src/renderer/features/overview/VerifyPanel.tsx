import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { IconShieldCheck } from '@tabler/icons-react';
import { useState } from 'react';
import type { Job } from '../../../shared/contract';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { JobProgress } from '../jobs/JobProgress';
import { activeJobOfType } from '../jobs/jobsState';

interface Props {
  jobs: readonly Job[];
  onJob: (job: Job) => void;
}

/** Starts the `verify` job and follows it live; the job list below keeps its outcome. */
export function VerifyPanel({ jobs, onJob }: Props) {
  const client = useClient();
  const [starting, setStarting] = useState(false);
  const [cancellingId, setCancellingId] = useState<string | null>(null);
  const active = activeJobOfType(jobs, 'verify');

  const start = async () => {
    setStarting(true);
    try {
      onJob(await client.call('jobs.start', { type: 'verify' }));
    } catch (err) {
      notifyError(err);
    } finally {
      setStarting(false);
    }
  };

  const cancel = async (id: string) => {
    setCancellingId(id);
    try {
      onJob(await client.call('jobs.cancel', { id }));
    } catch (err) {
      notifyError(err);
    } finally {
      setCancellingId(null);
    }
  };

  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="verify-title">
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start">
          <div>
            <Title order={3} size="h4" id="verify-title">
              Project files
            </Title>
            <Text size="sm" c="dimmed">
              Checks that every image this project uses is still in place and unchanged since it was imported.
            </Text>
          </div>
          <Button
            leftSection={<IconShieldCheck size={16} />}
            onClick={start}
            loading={starting}
            disabled={active !== undefined}
            data-testid="verify-button"
          >
            Verify project files
          </Button>
        </Group>
        {active && <JobProgress job={active} jobs={jobs} cancelling={cancellingId === active.id} onCancel={() => cancel(active.id)} />}
      </Stack>
    </Card>
  );
}
