import { Alert, Button, Card, Group, Loader, SegmentedControl, SimpleGrid, Stack, Text } from '@mantine/core';
import { IconArrowRight, IconInfoCircle, IconPlus } from '@tabler/icons-react';
import { useState } from 'react';
import type { ImportSummary } from './types';
import { useCall } from '../../api/hooks';
import { LoadError } from '../../components/LoadError';
import { OutcomeList } from './OutcomeList';
import {
  CONFLICT_EXPLANATION,
  DUPLICATE_EXPLANATION,
  NEAR_COPY_EXPLANATION,
  joinWords,
  outcomeCounts,
  outcomeRows,
  plural,
  type OutcomeFilter,
} from './importText';

const FILTERS: { value: OutcomeFilter; label: string; empty: string; explain?: string }[] = [
  { value: 'rejected', label: 'Rejected', empty: 'No file was rejected: every file could be read as an image.' },
  { value: 'duplicates', label: 'Duplicates', empty: 'No exact copies were found.', explain: DUPLICATE_EXPLANATION },
  { value: 'conflicts', label: 'Conflicts', empty: 'No picture appears under two labels.', explain: CONFLICT_EXPLANATION },
  { value: 'nearCopies', label: 'Near-copies', empty: 'No picture looks almost the same as another.', explain: NEAR_COPY_EXPLANATION },
  { value: 'problems', label: 'Other problems', empty: 'No other problems.' },
];

function Count({ label, value, color, testId }: { label: string; value: number; color?: string; testId: string }) {
  return (
    <Card withBorder radius="md" padding="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700} c={value > 0 ? color : undefined} data-testid={testId}>
        {value.toLocaleString('en')}
      </Text>
    </Card>
  );
}

/** The report of one import: counts per outcome and the files behind each, filterable. */
export function ImportReport({ summary, onGoToBalance, onImportMore }: { summary: ImportSummary; onGoToBalance: () => void; onImportMore?: () => void }) {
  const counts = outcomeCounts(summary);
  const firstNonEmpty = FILTERS.find((f) => counts[f.value] > 0)?.value ?? 'rejected';
  const [filter, setFilter] = useState<OutcomeFilter>(firstNonEmpty);
  const current = FILTERS.find((f) => f.value === filter)!;
  const rows = outcomeRows(summary, filter);
  const classNames = Object.keys(summary.classes);
  return (
    <Stack gap="md" data-testid="import-result">
      <Text data-testid="import-result-sentence">
        {summary.imported === 0 ? (
          <>No new images were added{summary.duplicates.length > 0 ? ': the files were already in the project.' : '.'}</>
        ) : (
          <>
            Added <b>{plural(summary.imported, 'image', 'images')}</b> to{' '}
            {classNames.length === 1 ? 'the class ' : 'the classes '}
            {joinWords(classNames.map((c) => `${c} (${summary.classes[c]!.toLocaleString('en')})`))}.
          </>
        )}
        {summary.resumed > 0 && <> {plural(summary.resumed, 'file was', 'files were')} already done by the earlier, stopped run.</>}
      </Text>
      <SimpleGrid cols={{ base: 2, sm: 3, md: 6 }}>
        <Count label="Imported" value={summary.imported} color="green" testId="count-imported" />
        <Count label="Rejected" value={counts.rejected} color="red" testId="count-rejected" />
        <Count label="Duplicates" value={counts.duplicates} color="yellow" testId="count-duplicates" />
        <Count label="Conflicts" value={counts.conflicts} color="orange" testId="count-conflicts" />
        <Count label="Near-copies" value={counts.nearCopies} color="yellow" testId="count-near-copies" />
        <Count label="Other problems" value={counts.problems} color="orange" testId="count-problems" />
      </SimpleGrid>

      <SegmentedControl
        value={filter}
        onChange={(v) => setFilter(v as OutcomeFilter)}
        data={FILTERS.map((f) => ({ value: f.value, label: `${f.label} (${counts[f.value].toLocaleString('en')})` }))}
        aria-label="Show files by outcome"
        data-testid="outcome-filter"
        fullWidth
      />
      {current.explain && counts[filter] > 0 && (
        <Alert variant="light" color={filter === 'conflicts' ? 'orange' : 'blue'} icon={<IconInfoCircle size={18} />} py="xs">
          {current.explain}
        </Alert>
      )}
      <OutcomeList rows={rows} label={`${current.label} files`} empty={current.empty} />
      {rows.length < counts[filter] && (
        <Text size="xs" c="dimmed" data-testid="outcome-shown">
          Showing the first {rows.length.toLocaleString('en')} of {counts[filter].toLocaleString('en')}.
        </Text>
      )}

      <Group>
        <Button rightSection={<IconArrowRight size={16} />} onClick={onGoToBalance} data-testid="go-to-balance">
          See the class balance
        </Button>
        {onImportMore && (
          <Button variant="default" leftSection={<IconPlus size={16} />} onClick={onImportMore} data-testid="import-more">
            Import more images
          </Button>
        )}
      </Group>
    </Stack>
  );
}

/** Loads the latest import's report. */
export function ImportResult({ onGoToBalance, onImportMore }: { onGoToBalance: () => void; onImportMore: () => void }) {
  const [latest, { reload }] = useCall('import.latest', { limit: 2000 });
  if (latest.status === 'error') {
    return <LoadError title="The import report could not be loaded" message={latest.error.message} onRetry={reload} />;
  }
  if (latest.data === undefined) {
    return (
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed">Loading the import report…</Text>
      </Group>
    );
  }
  if (latest.data === null) {
    return (
      <Stack gap="sm" align="flex-start">
        <Text c="dimmed">No import has finished in this project yet.</Text>
        <Button onClick={onImportMore}>Import images</Button>
      </Stack>
    );
  }
  return <ImportReport summary={latest.data} onGoToBalance={onGoToBalance} onImportMore={onImportMore} />;
}
