import { Card, Grid, Loader, Stack, Text, Title } from '@mantine/core';
import { GoToImport } from '../../components/GoToImport';
import { useCallback, useMemo, useState } from 'react';
import type { ProjectStatus, Run } from '../../../shared/contract';
import { useCall, useEvent, useOnReconnect } from '../../api/hooks';
import { NewRunForm, type ClassOption } from './NewRunForm';
import { RunDashboard } from './RunDashboard';
import { RunsList } from './RunsList';
import { applyRunUpdate, defaultClasses, initialRunId, removeRun } from './trainingState';

interface Props {
  project: ProjectStatus;
  onGoToImport: () => void;
}

function NoImages({ onGoToImport }: { onGoToImport: () => void }) {
  return (
    <Card withBorder radius="md" padding="lg" data-testid="training-no-images">
      <Text>
        There are no images to learn from yet. Go to{' '}
        <GoToImport onGoToImport={onGoToImport} />{' '}
        to bring in your dataset first.
      </Text>
    </Card>
  );
}

function NoRuns() {
  return (
    <Card withBorder radius="md" padding="lg" data-testid="training-no-runs">
      <Stack gap="xs">
        <Title order={3} size="h4">
          No training runs yet
        </Title>
        <Text size="sm">
          Training teaches a generative model what the images of each class look like, so that it can draw new, realistic ones for
          the classes that have too few. It looks at your images thousands of times and gets a little better each time; you can
          watch sample images improve while it learns.
        </Text>
        <Text size="sm">
          On a graphics card a standard run takes from tens of minutes to a few hours; on the processor alone it can take days. Use
          “Estimate time” to find out before you start. You can pause a run and resume it later, even after closing GAN Augment.
        </Text>
      </Stack>
    </Card>
  );
}

/** The Training screen: set up a run, the list of runs, and the selected run's dashboard. */
export function TrainingScreen({ project, onGoToImport }: Props) {
  const [balance] = useCall('balance.get', {}, String(project.imageCount));
  const [runsCall, runsOps] = useCall('runs.list', {});
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  // The list from the call, then kept current by events and call results.
  const list: Run[] | null = runs ?? runsCall.data ?? null;
  const applyRun = useCallback(
    (run: Run) => setRuns((current) => applyRunUpdate(current ?? runsCall.data ?? [], run)),
    [runsCall.data],
  );
  useEvent('run.updated', ({ run }) => applyRun(run));
  // deleted here or in another window: off the list; the dashboard shows the newest run left
  const dropRun = useCallback(
    (runId: string) => {
      setRuns((current) => removeRun(current ?? runsCall.data ?? [], runId));
      setSelected((s) => (s === runId ? null : s));
    },
    [runsCall.data],
  );
  useEvent('run.deleted', ({ runId }) => dropRun(runId));
  useOnReconnect(() => {
    setRuns(null);
    runsOps.reload();
  });

  const classes: ClassOption[] | null = useMemo(() => {
    if (balance.data) return balance.data.classes.map((c) => ({ name: c.name, count: c.count, needed: c.needed, tooSmall: c.tooSmall }));
    if (balance.status === 'error') return project.classes.map((c) => ({ name: c.name, count: c.imageCount, needed: 0, tooSmall: false }));
    return null;
  }, [balance, project.classes]);

  const selectedId = selected ?? (list ? initialRunId(list) : null);
  const selectedRun = list?.find((r) => r.id === selectedId) ?? null;

  const header = (
    <div>
      <Title order={2}>Training</Title>
      <Text c="dimmed" size="sm" maw={760}>
        Train a model on your images, then use it on the Gallery screen to generate images for the rare classes.
      </Text>
    </div>
  );

  if (project.imageCount === 0) {
    return (
      <Stack gap="lg">
        {header}
        <NoImages onGoToImport={onGoToImport} />
      </Stack>
    );
  }

  const form = classes ? (
    <NewRunForm
      classes={classes}
      training={list?.find((r) => r.status === 'running') ?? null}
      draftKey={project.path}
      initialClasses={balance.data ? defaultClasses(balance.data) : classes.map((c) => c.name)}
      onStarted={(started) => {
        for (const r of started) applyRun(r);
        if (started[0]) setSelected(started[0].id);
      }}
    />
  ) : (
    <Loader size="sm" aria-label="Loading classes" />
  );

  let runsPanel;
  if (list === null) {
    runsPanel =
      runsCall.status === 'error' ? (
        <Text c="red" size="sm">
          {runsCall.error.message}
        </Text>
      ) : (
        <Loader size="sm" aria-label="Loading training runs" />
      );
  } else if (list.length === 0) {
    runsPanel = <NoRuns />;
  } else {
    runsPanel = <RunsList runs={list} selectedId={selectedId} onSelect={setSelected} />;
  }

  return (
    <Stack gap="lg">
      {header}
      {selectedRun && <RunDashboard key={selectedRun.id} run={selectedRun} onRun={applyRun} onDeleted={dropRun} />}
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, lg: 5 }} order={{ base: 1, lg: list && list.length > 0 ? 1 : 2 }}>
          {runsPanel}
        </Grid.Col>
        <Grid.Col span={{ base: 12, lg: 7 }} order={{ base: 2, lg: list && list.length > 0 ? 2 : 1 }}>
          {form}
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
