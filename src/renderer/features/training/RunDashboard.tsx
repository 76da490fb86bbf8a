import { NumberInput, Alert, Button, Card, Grid, Group, Image, Loader, Progress, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { IconAlertTriangle, IconInfoCircle, IconPlayerPause, IconPlayerPlay, IconPlayerStop } from '@tabler/icons-react';
import { useCallback, useEffect, useState } from 'react';
import type { MetricPoint, Run } from '../../../shared/contract';
import { useCall, useClient, useEvent, useOnReconnect } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { formatEta, formatRate } from '../jobs/format';
import { DeleteRun } from './DeleteRun';
import { LossCharts } from './LossCharts';
import { RunStatusBadge, runPercent } from './RunsList';
import { BACKEND_LABEL, allowedActions, mergeMetrics, preparingSentence, runStatusSentence, runTitle, stallSentence, windingSentence } from './trainingState';

interface Props {
  run: Run;
  onRun: (run: Run) => void;
  onDeleted: (runId: string) => void;
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" fw={500} data-testid={testId}>
        {value}
      </Text>
    </div>
  );
}

function SampleGrid({ run }: { run: Run }) {
  const [sample] = useCall('runs.sample', { runId: run.id }, `${run.id}:${run.sampleStep ?? 'none'}`);
  const data = sample.data;
  return (
    <Stack gap={6} data-testid="sample-grid">
      <Text size="sm" fw={600}>
        Sample images{data ? ` at step ${data.step.toLocaleString('en')}` : ''}
      </Text>
      {data ? (
        <Image
          src={data.image}
          alt={`Generated samples at step ${data.step}: one row per class (${run.classes.join(', ')})`}
          radius="sm"
          fit="contain"
          mah={360}
          style={{ imageRendering: 'pixelated', background: 'var(--mantine-color-default-hover)' }}
          data-testid="sample-image"
          data-step={data.step}
        />
      ) : sample.status === 'loading' ? (
        <Loader size="sm" aria-label="Loading sample images" />
      ) : (
        <Text size="sm" c="dimmed" data-testid="sample-empty">
          The first samples appear at the first checkpoint.
        </Text>
      )}
      <Text size="xs" c="dimmed">
        One row per class{run.model === 'cwgan-gp' ? ` (${run.classes.join(', ')})` : ''}, same random seeds each time so you can
        watch the same samples improve.
      </Text>
    </Stack>
  );
}

/**
 * Continues a finished run from its last checkpoint up to a larger total number of steps: a run stopped
 * before its total is offered that total again (stopped at step 29 of 300: 300), a completed one twice it.
 */
function TrainLonger({ run, onRun }: { run: Run; onRun: (run: Run) => void }) {
  const client = useClient();
  const [steps, setSteps] = useState<number | string>(run.step < run.totalSteps ? run.totalSteps : run.totalSteps * 2);
  const [busy, setBusy] = useState(false);
  const target = typeof steps === 'number' ? steps : Number(steps);
  const valid = Number.isInteger(target) && target > run.step;
  const go = async () => {
    setBusy(true);
    try {
      onRun(await client.call('runs.resume', { runId: run.id, steps: target }));
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Group align="flex-end" gap="xs" data-testid="train-longer">
      <NumberInput
        label="Train longer, up to step"
        description={`Continues from the checkpoint at step ${run.checkpointStep}, with the same settings.`}
        value={steps}
        onChange={setSteps}
        min={run.step + 1}
        allowDecimal={false}
        allowNegative={false}
        thousandSeparator=","
        error={valid ? undefined : `Choose a number above ${run.step}.`}
        w={260}
      />
      <Button variant="light" leftSection={<IconPlayerPlay size={16} />} onClick={() => void go()} loading={busy} disabled={!valid}>
        Train longer
      </Button>
    </Group>
  );
}

/** The time now, refreshed every `everyMs` while `active`. */
function useNow(active: boolean, everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return now;
}

/** One run: progress, controls, health hints, live loss curves and the latest sample grid. */
export function RunDashboard({ run, onRun, onDeleted }: Props) {
  const client = useClient();
  const [metrics, setMetrics] = useState<MetricPoint[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [busy, setBusy] = useState<'pause' | 'resume' | 'stop' | null>(null);
  // A pause or stop that was asked for while the run is still finishing its step (and, for a pause,
  // saving its checkpoint): the buttons wait, and the dashboard says so.
  const [winding, setWinding] = useState<'pause' | 'stop' | null>(null);
  const [seenStatus, setSeenStatus] = useState(run.status);
  if (seenStatus !== run.status) {
    // the run answered (paused, stopped, finished or failed): adjust during render, as React advises
    setSeenStatus(run.status);
    if (run.status !== 'running') setWinding(null);
  }
  const runId = run.id;

  const load = useCallback(() => {
    let live = true;
    client.call('runs.get', { runId }).then(
      (detail) => {
        if (!live) return;
        setMetrics((m) => mergeMetrics(m, detail.metrics));
        setLoaded(true);
        onRun(detail.run);
      },
      (err: unknown) => {
        if (!live) return;
        setLoaded(true);
        notifyError(err);
      },
    );
    return () => {
      live = false;
    };
    // onRun is a state setter wrapper from the parent; the run id is what matters
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, runId]);
  useEffect(() => load(), [load]);
  useOnReconnect(() => void load());

  useEvent('run.updated', (update) => {
    if (update.run.id !== runId) return;
    if (update.metrics.length > 0) setMetrics((m) => mergeMetrics(m, update.metrics));
  });

  const act = async (action: 'pause' | 'resume' | 'stop') => {
    setBusy(action);
    try {
      const name = action === 'pause' ? 'runs.pause' : action === 'resume' ? 'runs.resume' : 'runs.stop';
      const updated = await client.call(name, { runId });
      if (action !== 'resume' && updated.status === 'running') setWinding(action);
      onRun(updated);
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };

  const allowed = allowedActions(run.status);
  // A failed run is resumed (to its own total) with Resume; offering a new total beside it only confuses.
  const canTrainLonger = (run.status === 'completed' || run.status === 'stopped') && run.checkpointStep !== null;
  // Only while the run still runs: its answer may arrive (as an event) before the call's reply.
  const windingNow = run.status === 'running' ? winding : null;
  const sentence = windingNow ? windingSentence(windingNow) : (runStatusSentence(run) ?? preparingSentence(run));
  const loading = !windingNow && run.status === 'running' && run.preparing?.stage === 'loading' && run.preparing.total > 0 ? run.preparing : null;
  const waiting = busy ?? windingNow;
  const now = useNow(run.status === 'running', 15_000);
  const stalled = windingNow ? null : stallSentence(run, now);
  const rate = formatRate(run.imagesPerSec, 'images');

  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="dashboard-title" data-testid="run-dashboard" data-run-id={run.id}>
      <Stack gap="md">
        <Group justify="space-between" align="flex-start">
          <Stack gap={4}>
            <Group gap="sm">
              <Title order={3} size="h4" id="dashboard-title">
                {runTitle(run)}
              </Title>
              <RunStatusBadge status={run.status} />
            </Group>
            <Text size="xs" c="dimmed">
              {run.id} · {run.resolution} × {run.resolution} pixels · {run.preset === 'tiny' ? 'tiny model' : 'standard model'} · {run.batch}{' '}
              images per batch · seed {run.seed}
            </Text>
          </Stack>
          <Group gap="xs">
            <Button
              variant="default"
              leftSection={<IconPlayerPause size={16} />}
              disabled={!allowed.pause || waiting !== null}
              loading={waiting === 'pause'}
              onClick={() => void act('pause')}
              data-testid="run-pause"
            >
              Pause
            </Button>
            <Button
              variant="default"
              leftSection={<IconPlayerPlay size={16} />}
              disabled={!allowed.resume || waiting !== null}
              loading={waiting === 'resume'}
              onClick={() => void act('resume')}
              data-testid="run-resume"
            >
              Resume
            </Button>
            <Button
              variant="light"
              color="red"
              title="Ends the run where it is, with a checkpoint there; Train longer can continue it later. Pause, to carry on with Resume."
              leftSection={<IconPlayerStop size={16} />}
              disabled={!allowed.stop || waiting !== null}
              loading={waiting === 'stop'}
              onClick={() => void act('stop')}
              data-testid="run-stop"
            >
              Stop
            </Button>
            <DeleteRun run={run} disabled={waiting !== null} onDeleted={onDeleted} />
          </Group>
        </Group>

        {canTrainLonger && <TrainLonger run={run} onRun={onRun} />}

        <Stack gap={6}>
          <Progress
            value={runPercent(run)}
            size="lg"
            radius="xl"
            color={run.status === 'paused' ? 'yellow' : run.status === 'failed' ? 'red' : run.status === 'completed' ? 'green' : undefined}
            striped={run.status === 'running'}
            animated={run.status === 'running'}
            aria-label={`Training progress: step ${run.step} of ${run.totalSteps}`}
          />
          <SimpleGrid cols={{ base: 2, sm: 4 }}>
            <Stat label="Step" value={`${run.step.toLocaleString('en')} of ${run.totalSteps.toLocaleString('en')}`} testId="run-step" />
            <Stat
              label="Time left"
              value={run.status === 'running' ? formatEta(run.etaSeconds) : run.status === 'completed' ? 'done' : '—'}
              testId="run-eta"
            />
            <Stat label="Speed" value={rate ?? '—'} testId="run-speed" />
            <Stat label="Computing on" value={run.device ?? BACKEND_LABEL[run.backendChoice]} testId="run-device" />
          </SimpleGrid>
          {sentence && (
            <Text size="sm" c={run.status === 'failed' ? 'red' : 'dimmed'} data-testid="run-status-sentence" aria-live="polite">
              {sentence}
            </Text>
          )}
          {loading && (
            <Progress
              value={(100 * loading.done) / loading.total}
              size="xs"
              radius="xl"
              aria-label={`Loading the training images: ${loading.done} of ${loading.total}`}
              data-testid="run-loading-progress"
            />
          )}
        </Stack>

        {run.backendWarning && (
          <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} data-testid="run-backend-warning">
            {run.backendWarning}
          </Alert>
        )}
        {stalled && (
          <Alert color="orange" variant="light" icon={<IconAlertTriangle size={18} />} title="No progress" data-testid="run-stalled">
            {stalled}
          </Alert>
        )}
        {run.health.map((hint) => (
          <Alert key={hint} color="orange" variant="light" icon={<IconInfoCircle size={18} />} title="Something to check" data-testid="run-health">
            {hint}
          </Alert>
        ))}

        <Grid gap="lg">
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Stack gap={6}>
              {loaded ? <LossCharts model={run.model} metrics={metrics} /> : <Loader size="sm" aria-label="Loading the curves" />}
              <Text size="xs" c="dimmed">
                In a GAN the two networks compete, so the losses go up and down; that is normal. Judge progress by the sample images. A
                curve that climbs or falls steadily for a long time can mean training has gone wrong.
              </Text>
            </Stack>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 4 }}>
            <SampleGrid run={run} />
          </Grid.Col>
        </Grid>
      </Stack>
    </Card>
  );
}
