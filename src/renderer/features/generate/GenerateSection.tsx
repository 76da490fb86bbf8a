import { Button, Group, Loader, NativeSelect, NumberInput, Stack, Text } from '@mantine/core';
import { useCancelJob } from '../jobs/useCancelJob';
import { SeedInput } from '../../components/SeedInput';
import { IconSparkles } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import type { Job } from '../../../shared/contract';
import { ScreenLink } from '../../components/ScreenLink';
import { SectionCard } from '../../components/SectionCard';
import { generationDiskSentence } from '../../../shared/disk';
import { asApiError, useCall, useClient, useEvent, useOnReconnect } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { JobProgress } from '../jobs/JobProgress';
import { activeJobOfType, isActive } from '../jobs/jobsState';
import { runTitle } from '../training/trainingState';
import { GeneratedGrid } from './GeneratedGrid';
import { DEFAULT_COUNT_CAP, defaultCount, preferredRun, usableRuns } from './generateState';

interface Props {
  jobs: readonly Job[];
  onJob: (job: Job) => void;
  onGoToTraining: () => void;
}

const toInt = (v: number | string): number | undefined => {
  if (v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? Math.round(n) : undefined;
};

/** What the images asked for take on the disk (measured on the run's earlier images, else estimated), beside what is free. */
function GenerateDisk({ runId, count, generated }: { runId: string; count: number; generated: number }) {
  const [disk] = useCall('generate.disk', { runId }, `${runId}:${generated}`);
  if (!disk.data || !Number.isInteger(count) || count < 1) return null;
  const { text, enough } = generationDiskSentence(count, disk.data);
  return (
    <Text size="xs" c={enough ? 'dimmed' : 'orange'} fw={enough ? undefined : 500} data-testid="generate-disk">
      {text}
    </Text>
  );
}

/** Generate images for a class from a trained run, follow the job, and see the results per class. */
export function GenerateSection({ jobs, onJob, onGoToTraining }: Props) {
  const client = useClient();
  const [runsCall, runsOps] = useCall('runs.list', {});
  const [balance] = useCall('balance.get', {});
  const [generated, generatedOps] = useCall('generated.list', { limit: 1000 });
  const [counts, countsOps] = useCall('generated.counts', {});
  const [runChoice, setRunChoice] = useState<string | null>(null);
  const [classChoice, setClassChoice] = useState<string | null>(null);
  const [count, setCount] = useState<{ key: string; value: number | string } | null>(null);
  const [seed, setSeed] = useState<number | string>('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [jobId, setJobId] = useState<string | null>(null);
  const [cancelling, cancelJob] = useCancelJob(onJob);

  useEvent('run.updated', () => runsOps.reload());
  const reloadImages = () => {
    generatedOps.reload();
    countsOps.reload();
  };
  useEvent('run.deleted', () => {
    runsOps.reload();
    reloadImages();
  });
  useEvent('job.updated', (job) => {
    if (job.type === 'generate' && job.status === 'completed') reloadImages();
  });
  useOnReconnect(() => {
    runsOps.reload();
    reloadImages();
  });

  const runs = usableRuns(runsCall.data ?? []);
  const run = runs.find((r) => r.id === runChoice) ?? preferredRun(runs);
  const className = run && classChoice && run.classes.includes(classChoice) ? classChoice : run?.classes[0];
  const needed = balance.data?.classes.find((c) => c.name === className)?.needed;
  const countKey = `${run?.id}:${className}`;
  const countValue = count?.key === countKey ? count.value : defaultCount(needed);
  // The generation started here, else one still under way from before (the screen was left and
  // opened again, or another window started it): its progress and Cancel stay in view.
  const job = (jobId ? jobs.find((j) => j.id === jobId) : undefined) ?? activeJobOfType(jobs, 'generate');
  const jobRunning = job !== undefined && isActive(job.status);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!run || !className) return;
    const n = toInt(countValue);
    const s = toInt(seed);
    const next: Record<string, string> = {};
    if (n === undefined || n < 1 || n > 10_000) next.count = 'Generate from 1 to 10,000 images at a time.';
    if (s !== undefined && (s < 0 || s > 2 ** 31 - 1)) next.seed = 'Use a seed from 0 to 2,147,483,647.';
    setErrors(next);
    if (Object.keys(next).length > 0) return;
    setBusy(true);
    try {
      const started = await client.call('generate.start', { runId: run.id, className, count: n!, ...(s !== undefined ? { seed: s } : {}) });
      onJob(started);
      setJobId(started.id);
    } catch (err) {
      const ae = asApiError(err);
      if (ae.kind === 'validation' && ae.field) setErrors({ [ae.field]: ae.message });
      else notifyError(ae);
    } finally {
      setBusy(false);
    }
  };

  const cancel = () => cancelJob(job);

  let form;
  if (runsCall.status === 'loading' && !runsCall.data) {
    form = <Loader size="sm" aria-label="Loading training runs" />;
  } else if (!run) {
    form = (
      <Text size="sm" c="dimmed" data-testid="generate-no-runs">
        No trained model yet. Train one on the{' '}
        <ScreenLink screen="training" onGo={onGoToTraining}>
          Training
        </ScreenLink>{' '}
        screen; once it has finished, or is paused or stopped with a saved checkpoint, it can generate images here.
      </Text>
    );
  } else {
    form = (
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Group gap="md" align="flex-start" grow>
            <NativeSelect
              label="Trained model"
              value={run.id}
              onChange={(e) => setRunChoice(e.currentTarget.value)}
              data={runs.map((r) => ({ value: r.id, label: `${runTitle(r)} · step ${(r.checkpointStep ?? 0).toLocaleString('en')} (${r.status})` }))}
              data-testid="generate-run"
            />
            <NativeSelect
              label="Class"
              value={className}
              onChange={(e) => setClassChoice(e.currentTarget.value)}
              data={run.classes}
              data-testid="generate-class"
            />
          </Group>
          <Group gap="md" align="flex-start" grow>
            <NumberInput
              label="Number of images"
              description={
                needed && needed > 0
                  ? `This class needs ${needed.toLocaleString('en')} to reach the target${needed > DEFAULT_COUNT_CAP ? `; ${DEFAULT_COUNT_CAP.toLocaleString('en')} are offered per batch` : ''}.`
                  : 'This class already reaches the target; a few images let you judge the model.'
              }
              value={countValue}
              onChange={(v) => setCount({ key: countKey, value: v })}
              min={1}
              max={10_000}
              allowDecimal={false}
              allowNegative={false}
              thousandSeparator=","
              error={errors.count}
              data-testid="generate-count"
            />
            <SeedInput value={seed} onChange={setSeed} description="The same seed gives the same images again." error={errors.seed} data-testid="generate-seed" />
          </Group>
          <GenerateDisk runId={run.id} count={toInt(countValue) ?? 0} generated={generated.data?.length ?? 0} />
          <Group>
            <Button type="submit" leftSection={<IconSparkles size={16} />} loading={busy} disabled={jobRunning} data-testid="generate-start">
              Generate images
            </Button>
          </Group>
        </Stack>
      </form>
    );
  }

  const images = generated.data ?? [];
  return (
    <Stack gap="lg">
      <SectionCard id="generate-title" title="Generate images" testId="generate-panel">
        {form}
        {job && (isActive(job.status) ? <JobProgress job={job} jobs={jobs} cancelling={cancelling} onCancel={cancel} /> : null)}
        {job && job.status === 'completed' && (
          <Text size="sm" c="green" data-testid="generate-done">
            {job.message ?? 'The images are ready.'}
          </Text>
        )}
        {job && job.status === 'failed' && (
          <Text size="sm" c="red">
            {job.error?.message ?? 'Generation stopped because of an error.'}
          </Text>
        )}
      </SectionCard>

      <SectionCard id="generated-title" title="Generated images">
        {images.length === 0 ? (
          generated.status === 'loading' ? (
            <Loader size="sm" aria-label="Loading generated images" />
          ) : (
            <Text size="sm" c="dimmed" data-testid="generated-empty">
              Images you generate appear here, grouped by class.
            </Text>
          )
        ) : (
          <>
            <Text size="xs" c="dimmed">
              Hover over or tab to an image to see which run, checkpoint, seed and latent index made it.
            </Text>
            <GeneratedGrid images={images} totals={counts.data} />
          </>
        )}
      </SectionCard>
    </Stack>
  );
}
