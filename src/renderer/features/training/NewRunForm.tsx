import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NativeSelect,
  NumberInput,
  Radio,
  SegmentedControl,
  Stack,
  Switch,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { SeedInput } from '../../components/SeedInput';
import { IconAlertTriangle, IconClock, IconPlayerPlay } from '@tabler/icons-react';
import { useId, useState, type FormEvent } from 'react';
import type { CallOutput, Run, TrainSettings } from '../../../shared/contract';
import { diskIsEnough, diskSentence } from '../../../shared/disk';
import { type ApiError } from '../../api/client';
import { asApiError, useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { useDraft } from '../../lib/useDraft';
import {
  BACKEND_LABEL,
  DEFAULT_TRAINING_STEPS,
  DIFFAUGMENT_SUGGESTED_MAX,
  MODEL_INFO,
  epochsNote,
  formatDuration,
  formatMsPerStep,
  presetBatch,
  runTitle,
  suggestDiffAugment,
  type BackendChoice,
  type Model,
  type Preset,
  type Resolution,
} from './trainingState';

export interface ClassOption {
  name: string;
  count: number;
  needed: number;
  tooSmall: boolean;
}

interface Props {
  classes: readonly ClassOption[];
  initialClasses: readonly string[];
  onStarted: (runs: Run[]) => void;
  /** The run training now, if any: the estimate would need its processor or graphics card. */
  training?: Run | null;
  /** The project's folder: the settings typed so far are kept per project while the window is open. */
  draftKey?: string;
}

type Estimate = CallOutput<'train.estimate'>;

const toInt = (v: number | string): number | undefined => {
  if (v === '' || v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? Math.round(n) : undefined;
};

/** The "New training run" panel: settings, a timed estimate, and Start. */
export function NewRunForm({ classes, initialClasses, onStarted, training = null, draftKey = '' }: Props) {
  const client = useClient();
  const ids = { resolution: useId(), preset: useId(), model: useId() };
  // The settings survive going to another screen and back (`useDraft`).
  const draft = (field: string) => `new-run:${draftKey}:${field}`;
  const [model, setModel] = useDraft<Model>(draft('model'), 'cwgan-gp');
  const [kept, setChosen] = useDraft<string[]>(draft('classes'), [...initialClasses]);
  const chosen = kept.filter((name) => classes.some((c) => c.name === name)); // (a class since merged away drops out)
  const [resolution, setResolution] = useDraft<Resolution>(draft('resolution'), 64);
  const [preset, setPreset] = useDraft<Preset>(draft('preset'), 'default');
  const [steps, setSteps] = useDraft<number | string>(draft('steps'), DEFAULT_TRAINING_STEPS);
  const [batch, setBatch] = useDraft<number | string>(draft('batch'), '');
  const [backend, setBackend] = useDraft<BackendChoice>(draft('backend'), 'auto');
  const chosenCounts = classes.filter((c) => chosen.includes(c.name)).map((c) => c.count);
  const [diffAugment, setDiffAugment] = useDraft<boolean>(draft('diffAugment'), suggestDiffAugment(classes.filter((c) => initialClasses.includes(c.name)).map((c) => c.count)));
  const [seed, setSeed] = useDraft<number | string>(draft('seed'), '');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<'estimate' | 'start' | null>(null);
  const [estimate, setEstimate] = useState<{ key: string; value: Estimate } | null>(null);

  const batchValue = toInt(batch) ?? presetBatch(preset, resolution);
  const stepsValue = toInt(steps);

  const settings = (): TrainSettings | null => {
    const next: Record<string, string> = {};
    if (chosen.length === 0) next.classes = 'Choose at least one class.';
    if (stepsValue === undefined || stepsValue < 1) next.steps = 'Train for at least 1 step.';
    const b = toInt(batch);
    if (b !== undefined && (b < 1 || b > 1024)) next.batch = 'Use a batch size from 1 to 1024.';
    const s = toInt(seed);
    if (s !== undefined && (s < 0 || s > 2 ** 31 - 1)) next.seed = 'Use a seed from 0 to 2,147,483,647.';
    setErrors(next);
    if (Object.keys(next).length > 0) return null;
    return {
      model,
      classes: chosen,
      resolution,
      preset,
      steps: stepsValue!,
      ...(b !== undefined ? { batch: b } : {}),
      backend,
      diffAugment,
      ...(s !== undefined ? { seed: s } : {}),
    };
  };
  const settingsKey = JSON.stringify([model, chosen, resolution, preset, stepsValue, toInt(batch), backend, diffAugment, toInt(seed)]);

  const showError = (err: unknown) => {
    const e: ApiError = asApiError(err);
    if (e.kind === 'validation' && e.field) setErrors((prev) => ({ ...prev, [e.field!.split('.')[0]!]: e.message }));
    else notifyError(e);
  };

  const runEstimate = async () => {
    const s = settings();
    if (!s) return;
    setBusy('estimate');
    try {
      setEstimate({ key: settingsKey, value: await client.call('train.estimate', s) });
    } catch (err) {
      showError(err);
    } finally {
      setBusy(null);
    }
  };

  const start = async (e: FormEvent) => {
    e.preventDefault();
    const s = settings();
    if (!s) return;
    setBusy('start');
    try {
      onStarted(await client.call('train.start', s));
    } catch (err) {
      showError(err);
    } finally {
      setBusy(null);
    }
  };

  const note = stepsValue ? epochsNote(stepsValue, batchValue, model, chosenCounts) : null;
  const currentEstimate = estimate?.key === settingsKey ? estimate.value : null;
  const smallest = chosenCounts.length > 0 ? Math.min(...chosenCounts) : null;

  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="new-run-title" data-testid="new-run">
      <form onSubmit={start} noValidate>
        <Stack gap="md">
          <Title order={3} size="h4" id="new-run-title">
            New training run
          </Title>

          <Radio.Group
            label="Model"
            value={model}
            onChange={(v) => setModel(v as Model)}
            id={ids.model}
            data-testid="train-model"
          >
            <Stack gap="xs" mt={6}>
              {(Object.keys(MODEL_INFO) as Model[]).map((m) => (
                <Radio key={m} value={m} label={MODEL_INFO[m].label} description={MODEL_INFO[m].description} />
              ))}
            </Stack>
          </Radio.Group>

          <Checkbox.Group
            label="Classes to train"
            description="Classes that need generated images are chosen for you."
            value={chosen}
            onChange={setChosen}
            error={errors.classes}
            data-testid="train-classes"
          >
            <Stack gap={6} mt={6}>
              {classes.map((c) => (
                <Group key={c.name} gap="xs" wrap="nowrap">
                  <Checkbox
                    value={c.name}
                    label={`${c.name} (${c.count.toLocaleString('en')} images${c.needed > 0 ? `, needs ${c.needed.toLocaleString('en')} more` : ''})`}
                  />
                  {c.tooSmall && (
                    <Tooltip
                      label="So few images that a model rarely learns this class well; results may look alike or unlike the real ones."
                      multiline
                      w={280}
                      withArrow
                    >
                      <Badge color="orange" variant="light" size="sm" tabIndex={0} leftSection={<IconAlertTriangle size={12} />}>
                        Very few images
                      </Badge>
                    </Tooltip>
                  )}
                </Group>
              ))}
            </Stack>
          </Checkbox.Group>

          <Group gap="xl" align="flex-start">
            <Stack gap={4}>
              <Text size="sm" fw={500} id={ids.resolution}>
                Image size (pixels)
              </Text>
              <SegmentedControl
                aria-labelledby={ids.resolution}
                value={String(resolution)}
                onChange={(v) => setResolution(Number(v) as Resolution)}
                data={['32', '64', '128'].map((v) => ({ value: v, label: `${v} × ${v}` }))}
                data-testid="train-resolution"
              />
            </Stack>
            <Stack gap={4}>
              <Text size="sm" fw={500} id={ids.preset}>
                Model size
              </Text>
              <SegmentedControl
                aria-labelledby={ids.preset}
                value={preset}
                onChange={(v) => setPreset(v as Preset)}
                data={[
                  { value: 'default', label: 'Standard' },
                  { value: 'tiny', label: 'Tiny (quick smoke test)' },
                ]}
                data-testid="train-preset"
              />
            </Stack>
          </Group>

          <Group gap="md" align="flex-start" grow>
            <NumberInput
              label="Training steps"
              description={note ?? 'How many updates to make.'}
              value={steps}
              onChange={setSteps}
              min={1}
              max={10_000_000}
              allowDecimal={false}
              allowNegative={false}
              thousandSeparator=","
              error={errors.steps}
              data-testid="train-steps"
            />
            <NumberInput
              label="Images per batch (optional)"
              description={`Leave empty for the ${preset === 'tiny' ? 'tiny' : 'standard'} setting: ${presetBatch(preset, resolution)}.`}
              placeholder={String(presetBatch(preset, resolution))}
              value={batch}
              onChange={setBatch}
              min={1}
              max={1024}
              allowDecimal={false}
              allowNegative={false}
              error={errors.batch}
              data-testid="train-batch"
            />
          </Group>

          <Group gap="md" align="flex-start" grow>
            <NativeSelect
              label="Where to compute"
              description="Automatic uses your graphics card when it can."
              value={backend}
              onChange={(e) => setBackend(e.currentTarget.value as BackendChoice)}
              data={(Object.keys(BACKEND_LABEL) as BackendChoice[]).map((b) => ({ value: b, label: BACKEND_LABEL[b] }))}
              data-testid="train-backend"
            />
            <SeedInput value={seed} onChange={setSeed} description="The same seed and settings give the same run." error={errors.seed} data-testid="train-seed" />
          </Group>

          <Switch
            label="Augment images while training (DiffAugment)"
            description={`Shifts, cuts out and recolours images on the fly so the model does not just memorise them. Recommended for classes with a few hundred images or fewer (${DIFFAUGMENT_SUGGESTED_MAX} or fewer)${smallest !== null && smallest <= DIFFAUGMENT_SUGGESTED_MAX ? '; your smallest chosen class has ' + smallest.toLocaleString('en') + '.' : '.'}`}
            checked={diffAugment}
            onChange={(e) => setDiffAugment(e.currentTarget.checked)}
            data-testid="train-diffaugment"
          />

          {currentEstimate && (
            <Alert
              color={currentEstimate.warning || !diskIsEnough(currentEstimate) ? 'yellow' : 'blue'}
              variant="light"
              icon={<IconClock size={18} />}
              title="Time and disk estimate"
              data-testid="train-estimate"
            >
              <Stack gap={2}>
                <Text size="sm">Backend: {currentEstimate.device}</Text>
                {currentEstimate.warning && (
                  <Text size="sm" fw={500}>
                    {currentEstimate.warning}
                  </Text>
                )}
                <Text size="sm">
                  {formatMsPerStep(currentEstimate.msPerStep)}: {formatDuration(currentEstimate.etaSeconds)} in total for{' '}
                  {(stepsValue ?? 0).toLocaleString('en')} steps.
                  {model === 'dcgan' && chosen.length > 1 ? ' Each class trains as its own run, one after another.' : ''}
                </Text>
                <Text size="sm" fw={diskIsEnough(currentEstimate) ? undefined : 500} data-testid="train-estimate-disk">
                  {diskSentence(currentEstimate)}
                </Text>
              </Stack>
            </Alert>
          )}

          <Group gap="sm">
            <Button
              variant="default"
              leftSection={<IconClock size={16} />}
              onClick={runEstimate}
              loading={busy === 'estimate'}
              disabled={busy === 'start' || training !== null}
              data-testid="train-estimate-button"
            >
              Estimate time
            </Button>
            <Button
              type="submit"
              leftSection={<IconPlayerPlay size={16} />}
              loading={busy === 'start'}
              disabled={busy === 'estimate'}
              data-testid="train-start"
            >
              Start training
            </Button>
          </Group>
          <Text size="xs" c="dimmed" data-testid="train-estimate-note">
            {training
              ? `No estimate while ${runTitle(training)} (${training.id}) trains: it would need the same processor or graphics card. Pause that run to estimate, or start the new run: it waits its turn.`
              : 'The estimate times a few steps on your images before you commit hours, and says the disk space the run needs; it takes a few seconds.'}
          </Text>
        </Stack>
      </form>
    </Card>
  );
}
