import { Badge, Card, Group, Progress, Stack, Text, Title, UnstyledButton } from '@mantine/core';
import type { Run } from '../../../shared/contract';
import { formatBytes } from '../../../shared/disk';
import { useCall } from '../../api/hooks';
import { formatAgo, formatEta, formatRate } from '../jobs/format';
import { STATUS_COLOR, STATUS_LABEL } from '../jobs/jobsState';
import { runTitle } from './trainingState';

export function RunStatusBadge({ status }: { status: Run['status'] }) {
  return (
    <Badge color={STATUS_COLOR[status]} variant="light" data-testid="run-status" style={{ flexShrink: 0 }}>
      {STATUS_LABEL[status]}
    </Badge>
  );
}

/** "step 120 of 600 · 48 images per second · about 3 minutes left" */
export function runProgressLine(run: Run): string {
  const parts = [`Step ${run.step.toLocaleString('en')} of ${run.totalSteps.toLocaleString('en')}`];
  if (run.status === 'running') {
    const rate = formatRate(run.imagesPerSec, 'images');
    if (rate) parts.push(rate);
    if (run.step < run.totalSteps) parts.push(formatEta(run.etaSeconds));
  }
  return parts.join(' · ');
}

export function runPercent(run: Pick<Run, 'step' | 'totalSteps'>): number {
  return run.totalSteps > 0 ? Math.min(100, (run.step / run.totalSteps) * 100) : 0;
}

/**
 * " · 79 MB on the disk": what the run takes (checkpoints, samples, its generated images), measured
 * again when it writes a checkpoint or changes status. Left out while measuring or when it cannot be.
 */
function RunDisk({ run }: { run: Run }) {
  const [footprint] = useCall('runs.footprint', { runId: run.id }, `${run.id}:${run.checkpointStep ?? ''}:${run.status}`);
  if (!footprint.data) return null;
  return <span data-testid="run-disk"> · {formatBytes(footprint.data.diskBytes)} on the disk</span>;
}

interface Props {
  runs: readonly Run[];
  selectedId: string | null;
  onSelect: (id: string) => void;
}

/** Every training run of the project, newest first; choosing one opens its dashboard. */
export function RunsList({ runs, selectedId, onSelect }: Props) {
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="runs-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="runs-title">
          Training runs
        </Title>
        <Stack gap="xs" role="list" aria-label="Training runs" data-testid="runs-list">
          {runs.map((run) => {
            const selected = run.id === selectedId;
            return (
              <UnstyledButton
                key={run.id}
                role="listitem"
                onClick={() => onSelect(run.id)}
                aria-current={selected ? 'true' : undefined}
                aria-label={`${runTitle(run)}: ${STATUS_LABEL[run.status]}, ${runProgressLine(run)}`}
                data-testid="run-row"
                data-run-id={run.id}
                p="sm"
                style={{
                  borderRadius: 'var(--mantine-radius-md)',
                  border: `1px solid ${selected ? 'var(--mantine-primary-color-filled)' : 'var(--mantine-color-default-border)'}`,
                  background: selected ? 'var(--mantine-primary-color-light)' : undefined,
                }}
              >
                <Stack gap={6}>
                  <Group justify="space-between" wrap="nowrap" gap="xs">
                    <Text size="sm" fw={600} lineClamp={1} title={run.classes.join(', ')} style={{ minWidth: 0 }}>
                      {runTitle(run)}
                    </Text>
                    <RunStatusBadge status={run.status} />
                  </Group>
                  <Progress
                    value={runPercent(run)}
                    size="sm"
                    radius="xl"
                    color={run.status === 'paused' ? 'yellow' : run.status === 'failed' ? 'red' : undefined}
                    animated={run.status === 'running'}
                    striped={run.status === 'running'}
                    aria-hidden
                  />
                  <Text size="xs" c="dimmed">
                    {runProgressLine(run)}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {run.id} · {run.resolution} × {run.resolution} · {run.device ?? 'device not chosen yet'} · started {formatAgo(run.createdAt)}
                    <RunDisk run={run} />
                  </Text>
                </Stack>
              </UnstyledButton>
            );
          })}
        </Stack>
      </Stack>
    </Card>
  );
}
