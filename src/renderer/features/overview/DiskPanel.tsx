import { Group, Loader, Progress, Stack, Text } from '@mantine/core';
import type { Job } from '../../../shared/contract';
import { formatBytes, projectDiskParts, projectDiskSentence } from '../../../shared/disk';
import { useCall, useEvent } from '../../api/hooks';
import { LoadError } from '../../components/LoadError';
import { ScreenLink } from '../../components/ScreenLink';
import { SectionCard } from '../../components/SectionCard';

const COLOR = { images: 'teal', runs: 'blue', generated: 'grape', records: 'gray' } as const;

/** Where the project's disk space goes (a bar and a legend), what is free, and where to free some. */
export function DiskPanel({ jobs, imageCount, onGoToTraining }: { jobs: readonly Job[]; imageCount: number; onGoToTraining: () => void }) {
  // measured again when a job ends (an import, a training run, a generation) or a run is deleted
  const finished = jobs.filter((j) => j.finishedAt !== null).length;
  const [disk, ops] = useCall('project.disk', {}, `${imageCount}:${finished}`);
  useEvent('run.deleted', () => ops.reload());
  const d = disk.data;
  let body;
  if (disk.status === 'error' && !d) {
    body = <LoadError title="The disk space could not be measured" message={disk.error.message} onRetry={ops.reload} />;
  } else if (!d) {
    body = <Loader size="sm" aria-label="Measuring the disk space" />;
  } else {
    const parts = projectDiskParts(d);
    const total = Math.max(1, d.totalBytes);
    body = (
      <>
        <Text size="sm" data-testid="disk-sentence">
          {projectDiskSentence(d)}
        </Text>
        <Progress.Root size="lg" aria-hidden>
          {parts.map((p) => (
            <Progress.Section key={p.key} value={(100 * p.bytes) / total} color={COLOR[p.key]} />
          ))}
        </Progress.Root>
        <Stack gap={4} role="list" aria-label="Where the space goes" data-testid="disk-parts">
          {parts.map((p) => (
            <Group key={p.key} gap="xs" wrap="nowrap" role="listitem">
              <div style={{ width: 10, height: 10, borderRadius: 2, flex: 'none', background: `var(--mantine-color-${COLOR[p.key]}-filled)` }} />
              <Text size="sm" style={{ flex: 1 }}>
                {p.label}
              </Text>
              <Text size="sm" fw={500} ta="right">
                {formatBytes(p.bytes)}
              </Text>
            </Group>
          ))}
        </Stack>
        {d.runs > 0 && (
          <Text size="xs" c="dimmed" data-testid="disk-free-hint">
            To free space, delete training runs you no longer need on the{' '}
            <ScreenLink screen="training" onGo={onGoToTraining}>
              Training
            </ScreenLink>{' '}
            screen (Delete, on each run).
          </Text>
        )}
      </>
    );
  }
  return (
    <SectionCard id="disk-title" title="Disk space" testId="disk-panel">
      {body}
    </SectionCard>
  );
}
