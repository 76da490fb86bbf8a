import { Alert, Button, Card, Code, Group, Loader, Radio, Stack, Stepper, Text, Title } from '@mantine/core';
import { useCancelJob } from '../jobs/useCancelJob';
import { IconAlertTriangle, IconArrowLeft, IconArrowRight, IconFileImport, IconPlus, IconRefresh } from '@tabler/icons-react';
import { useEffect, useReducer, useState, type Dispatch } from 'react';
import type { Job, ProjectStatus } from '../../../shared/contract';
import { useCall, useClient, asApiError } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { readDraft, writeDraft } from '../../lib/useDraft';
import { JobProgress } from '../jobs/JobProgress';
import { activeJobOfType } from '../jobs/jobsState';
import { useFolderPicker } from '../projects/useFolderPicker';
import { ImportResult } from './ImportResult';
import { LocationStep } from './LocationStep';
import { ScanSummaryView } from './ScanSummaryView';
import { plural } from './importText';
import {
  STEPS,
  canStartImport,
  fromDraft,
  initialWizard,
  scanIsCurrent,
  sourceSpec,
  wizardDraft,
  wizardReducer,
  type SourceKind,
  type WizardAction,
  type WizardDraft,
  type WizardState,
} from './wizardState';

interface Props {
  project: ProjectStatus;
  jobs: readonly Job[];
  onJob: (job: Job) => void;
  onGoToBalance: () => void;
}

const NO_DOUBLES_NOTE =
  'Importing the same folder again, or a folder that overlaps one you imported before, does not create doubles: every image is recognised by its content.';

function SourceTypeStep({ kind, dispatch }: { kind: SourceKind; dispatch: Dispatch<WizardAction> }) {
  return (
    <Radio.Group
      value={kind}
      onChange={(v) => dispatch({ type: 'choose-kind', kind: v as SourceKind })}
      label="How are your images labelled?"
      data-testid="source-kind"
    >
      <Stack gap="sm" mt="xs" maw={760}>
        <Radio.Card value="folder" radius="md" p="md" data-testid="kind-folder">
          <Group wrap="nowrap" align="flex-start">
            <Radio.Indicator />
            <div>
              <Text fw={600}>A folder with one subfolder per class</Text>
              <Text size="sm" c="dimmed">
                The subfolder’s name is the class. For example: <Code>skin/melanoma/img_001.jpg</Code>,{' '}
                <Code>skin/nevus/img_002.jpg</Code>
              </Text>
            </div>
          </Group>
        </Radio.Card>
        <Radio.Card value="csv" radius="md" p="md" data-testid="kind-csv">
          <Group wrap="nowrap" align="flex-start">
            <Radio.Indicator />
            <div>
              <Text fw={600}>Images in a folder, plus a CSV file of labels</Text>
              <Text size="sm" c="dimmed">
                Each row names an image and its class. For example: <Code>img_001.jpg,melanoma</Code>, or the ISIC
                layout <Code>ISIC_0000001,1.0,0.0,0.0</Code> with one column per class.
              </Text>
            </div>
          </Group>
        </Radio.Card>
      </Stack>
    </Radio.Group>
  );
}

function ScanStep({ state, dispatch }: { state: WizardState; dispatch: Dispatch<WizardAction> }) {
  const client = useClient();
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const current = scanIsCurrent(state);
  const spec = sourceSpec(state);
  const specKey = spec ? JSON.stringify(spec) : null;

  useEffect(() => {
    if (current || !specKey) return;
    let live = true;
    client.call('import.scan', { source: JSON.parse(specKey) as NonNullable<typeof spec> }).then(
      (scan) => live && dispatch({ type: 'scanned', scan }),
      (err: unknown) => live && setError(asApiError(err).message),
    );
    return () => {
      live = false;
    };
  }, [client, current, specKey, attempt, dispatch]);

  if (error) {
    return (
      <Alert color="red" icon={<IconAlertTriangle size={18} />} title="The source could not be read" data-testid="scan-error">
        <Stack gap="xs" align="flex-start">
          <Text size="sm">{error}</Text>
          <Group gap="xs">
            <Button
              size="xs"
              onClick={() => {
                setError(null);
                dispatch({ type: 'back' });
              }}
              data-testid="scan-change-source"
            >
              Change the path
            </Button>
            <Button
              size="xs"
              variant="default"
              leftSection={<IconRefresh size={14} />}
              onClick={() => {
                setError(null);
                setAttempt((a) => a + 1);
              }}
            >
              Try again
            </Button>
          </Group>
        </Stack>
      </Alert>
    );
  }
  if (!current || !state.scan) {
    return (
      <Group gap="xs" data-testid="scan-loading">
        <Loader size="sm" />
        <Text c="dimmed">Looking through the folders… (no image is opened yet)</Text>
      </Group>
    );
  }
  return <ScanSummaryView scan={state.scan} />;
}

function ProgressStep({ job, jobs, spec, onJob, onRestart, onStartAgain }: {
  job: Job | undefined;
  jobs: readonly Job[];
  spec: ReturnType<typeof sourceSpec>;
  onJob: (job: Job) => void;
  onRestart: () => void;
  onStartAgain: () => void;
}) {
  const [cancelling, cancelJob] = useCancelJob(onJob);
  if (!job) {
    return (
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed">Starting the import…</Text>
      </Group>
    );
  }
  const cancel = () => cancelJob(job);
  if (job.status === 'stopped' || job.status === 'interrupted') {
    return (
      <Alert color="gray" title={job.status === 'stopped' ? 'The import was cancelled' : 'The import was interrupted'} data-testid="import-stopped">
        <Stack gap="xs" align="flex-start">
          <Text size="sm">
            Nothing is lost: the {plural(Math.round(job.progress.done), 'file', 'files')} already checked are kept. Running the same import
            again continues where it stopped.
          </Text>
          <Group>
            {spec && <Button onClick={onStartAgain}>Continue the import</Button>}
            <Button variant="default" onClick={onRestart}>
              Start over
            </Button>
          </Group>
        </Stack>
      </Alert>
    );
  }
  if (job.status === 'failed') {
    return (
      <Alert color="red" icon={<IconAlertTriangle size={18} />} title="The import stopped because of a problem" data-testid="import-failed">
        <Stack gap="xs" align="flex-start">
          <Text size="sm">{job.error?.message ?? job.message ?? 'Something went wrong.'}</Text>
          <Text size="sm">Files already checked are kept; running the same import again continues where it stopped.</Text>
          <Group>
            {spec && <Button onClick={onStartAgain}>Try again</Button>}
            <Button variant="default" onClick={onRestart}>
              Start over
            </Button>
          </Group>
        </Stack>
      </Alert>
    );
  }
  return (
    <Stack gap="sm" maw={760}>
      <Text>Every file is opened and checked. You can leave this screen; the import goes on and its progress stays on the Overview.</Text>
      <JobProgress job={job} jobs={jobs} cancelling={cancelling} onCancel={() => void cancel()} />
      <Text size="xs" c="dimmed">
        If you cancel, the files checked so far are kept and running the same import again continues where it stopped.
      </Text>
    </Stack>
  );
}

/** The Import screen: a guided wizard from choosing the source to the import's report. */
export function ImportScreen({ project, jobs, onJob, onGoToBalance }: Props) {
  const client = useClient();
  const [info] = useCall('app.info', {});
  const [pickerAvailable, pickFolder] = useFolderPicker();
  const canBrowse = info.data?.mode === 'electron' && pickerAvailable;
  const running = activeJobOfType(jobs, 'import');
  // The source typed so far survives leaving the screen (sessionStorage, per project; `wizardDraft`).
  const draftKey = `import:${project.path}`;
  const [draft] = useState(() => readDraft<WizardDraft>(draftKey) ?? null);
  const [state, dispatch] = useReducer(wizardReducer, running, (job): WizardState =>
    job ? { ...initialWizard, step: 3, jobId: job.id } : draft ? fromDraft(draft) : initialWizard,
  );
  const [started, setStarted] = useState(project.imageCount === 0 || running !== undefined || draft !== null);
  const nextDraft = JSON.stringify(wizardDraft(state)); // (a string: the effect runs when it changes, not at every render)
  useEffect(() => writeDraft(draftKey, JSON.parse(nextDraft)), [draftKey, nextDraft]);
  const [starting, setStarting] = useState(false);
  const job = state.jobId ? jobs.find((j) => j.id === state.jobId) : undefined;
  const spec = sourceSpec(state);

  // An import started elsewhere (another window, the command line) while this screen is open:
  // follow it (adjusting state during render, as React recommends over an effect).
  if (running && state.step < 3 && state.jobId !== running.id) {
    dispatch({ type: 'resume-job', jobId: running.id });
    if (!started) setStarted(true);
  }

  useEffect(() => {
    if (state.step === 3 && job?.status === 'completed') dispatch({ type: 'job-finished' });
  }, [state.step, job?.status]);

  const startImport = async () => {
    if (!spec) return;
    setStarting(true);
    try {
      const started = await client.call('jobs.start', { type: 'import', source: spec });
      onJob(started);
      dispatch({ type: 'job-started', jobId: started.id });
    } catch (err) {
      notifyError(err);
    } finally {
      setStarting(false);
    }
  };

  const restart = () => {
    dispatch({ type: 'reset' });
    setStarted(true);
  };

  if (!started) {
    return (
      <Stack gap="lg" maw={900}>
        <Title order={2}>Import</Title>
        <Card withBorder radius="md" padding="lg" data-testid="import-start">
          <Stack gap="sm" align="flex-start">
            <Text>
              This project has {plural(project.imageCount, 'image', 'images')} in {plural(project.classes.length, 'class', 'classes')}.
            </Text>
            <Text size="sm" c="dimmed">
              {NO_DOUBLES_NOTE}
            </Text>
            <Group>
              <Button leftSection={<IconPlus size={16} />} onClick={() => setStarted(true)} data-testid="add-more">
                Add more images
              </Button>
              <Button
                variant="default"
                onClick={() => {
                  setStarted(true);
                  dispatch({ type: 'show-result' });
                }}
                data-testid="show-last-report"
              >
                Show the last import’s report
              </Button>
            </Group>
          </Stack>
        </Card>
      </Stack>
    );
  }

  const footer = (() => {
    switch (state.step) {
      case 0:
        return (
          <Button rightSection={<IconArrowRight size={16} />} onClick={() => dispatch({ type: 'next' })} data-testid="wizard-next">
            Continue
          </Button>
        );
      case 1:
        return (
          <>
            <Button variant="default" leftSection={<IconArrowLeft size={16} />} onClick={() => dispatch({ type: 'back' })}>
              Back
            </Button>
            <Button rightSection={<IconArrowRight size={16} />} onClick={() => dispatch({ type: 'next' })} data-testid="wizard-next">
              Check the files
            </Button>
          </>
        );
      case 2:
        return (
          <>
            <Button variant="default" leftSection={<IconArrowLeft size={16} />} onClick={() => dispatch({ type: 'back' })}>
              Back
            </Button>
            <Button
              leftSection={<IconFileImport size={16} />}
              onClick={() => void startImport()}
              disabled={!canStartImport(state)}
              loading={starting}
              data-testid="start-import"
            >
              {state.scan && scanIsCurrent(state) && state.scan.total > 0 ? `Import ${plural(state.scan.total, 'file', 'files')}` : 'Import'}
            </Button>
          </>
        );
      case 3:
        return null;
      case 4:
        return null;
    }
  })();

  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>Import</Title>
        <Text size="sm" c="dimmed">
          Every file is checked before it is added; your original images are never changed or moved.
          {project.imageCount > 0 && ` ${NO_DOUBLES_NOTE}`}
        </Text>
      </div>
      <Stepper
        active={state.step}
        size="sm"
        allowNextStepsSelect={false}
        onStepClick={(i) => {
          if (state.step <= 2 && i < state.step) {
            for (let k = state.step; k > i; k--) dispatch({ type: 'back' });
          }
        }}
        aria-label="Import steps"
      >
        {STEPS.map((label, i) => (
          <Stepper.Step key={label} label={label} allowStepSelect={state.step <= 2 && i < state.step} />
        ))}
      </Stepper>

      <Card withBorder radius="md" padding="lg" component="section" aria-label={STEPS[state.step]}>
        <Stack gap="lg">
          {state.step === 0 && <SourceTypeStep kind={state.kind} dispatch={dispatch} />}
          {state.step === 1 && <LocationStep state={state} dispatch={dispatch} canBrowse={canBrowse} pickFolder={pickFolder} />}
          {state.step === 2 && <ScanStep state={state} dispatch={dispatch} />}
          {state.step === 3 && <ProgressStep job={job} jobs={jobs} spec={spec} onJob={onJob} onRestart={restart} onStartAgain={() => void startImport()} />}
          {state.step === 4 && <ImportResult onGoToBalance={onGoToBalance} onImportMore={restart} />}
          {footer && <Group gap="sm">{footer}</Group>}
        </Stack>
      </Card>
    </Stack>
  );
}
