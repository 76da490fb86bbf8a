import { BarChart } from '@mantine/charts';
import {
  Badge,
  Button,
  Card,
  Group,
  Loader,
  NumberInput,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
} from '@mantine/core';
import { IconChevronDown, IconChevronRight } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { useCall, useClient, useEvent } from '../../api/hooks';
import { LoadError } from '../../components/LoadError';
import { notifyError } from '../../lib/notify';
import { ConflictsNote } from './Conflicts';
import { ClassSamples } from './ClassSamples';
import { SplitsPanel } from './SplitsPanel';
import {
  MIN_IMAGES_FOR_GAN,
  formatShare,
  ratioSentence,
  targetSentence,
  type BalanceView,
  type TargetMode,
} from './balanceText';

const TOO_SMALL_HELP = `Fewer than ${MIN_IMAGES_FOR_GAN} images: a generator rarely learns a class this small well. Generated images for it may look alike or unlike the real ones; adding more real images helps most.`;

function TargetSelector({ balance, onChanged }: { balance: BalanceView; onChanged: (b: BalanceView) => void }) {
  const client = useClient();
  const [mode, setMode] = useState<TargetMode>(balance.target.mode);
  const [custom, setCustom] = useState<number | string>(balance.target.mode === 'custom' ? balance.target.value : balance.targetCount);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const apply = async (target: BalanceView['target']) => {
    setBusy(true);
    try {
      onChanged(await client.call('balance.setTarget', { target }));
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };

  const applyCustom = (e?: FormEvent) => {
    e?.preventDefault();
    const value = typeof custom === 'number' ? custom : Number(custom);
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
      setError('Use a whole number from 1 to 1,000,000.');
      return;
    }
    setError(null);
    void apply({ mode: 'custom', value });
  };

  return (
    <Stack gap="xs">
      <Text size="sm" fw={500} id="target-label">
        Target number of images per class
      </Text>
      <Group align="flex-start" gap="sm">
        <SegmentedControl
          aria-labelledby="target-label"
          value={mode}
          onChange={(v) => {
            const next = v as TargetMode;
            setMode(next);
            setError(null);
            if (next !== 'custom') void apply({ mode: next });
          }}
          data={[
            { value: 'max', label: 'Match largest' },
            { value: 'median', label: 'Match median' },
            { value: 'custom', label: 'Custom number' },
          ]}
          disabled={busy}
          data-testid="target-mode"
        />
        {mode === 'custom' && (
          <form onSubmit={applyCustom} noValidate>
            <Group gap="xs" align="flex-start">
              <NumberInput
                aria-label="Custom target: images per class"
                placeholder="Images per class"
                value={custom}
                onChange={setCustom}
                min={1}
                max={1_000_000}
                allowDecimal={false}
                allowNegative={false}
                thousandSeparator=","
                error={error}
                w={180}
                data-testid="target-custom"
              />
              <Button type="submit" variant="default" loading={busy}>
                Apply
              </Button>
            </Group>
          </form>
        )}
      </Group>
      <Text size="sm" data-testid="target-sentence">
        {targetSentence(balance)}
      </Text>
    </Stack>
  );
}

function BalanceChart({ balance }: { balance: BalanceView }) {
  const data = balance.classes.map((c) => ({ class: c.name, real: c.count, generated: c.needed }));
  const many = data.length > 8;
  return (
    <div role="img" aria-label={`Bar chart of images per class, largest first. ${ratioSentence(balance)} The table below lists the same numbers.`}>
      <BarChart
        h={320}
        data={data}
        dataKey="class"
        type="stacked"
        series={[
          { name: 'real', label: 'Real images', color: 'blue.6' },
          { name: 'generated', label: 'Generated images needed', color: 'orange.4' },
        ]}
        referenceLines={[{ y: balance.targetCount, label: `Target: ${balance.targetCount.toLocaleString('en')}`, color: 'red.6', labelPosition: 'insideTopRight' }]}
        withLegend
        legendProps={{ verticalAlign: 'top', height: 40 }}
        valueFormatter={(v) => v.toLocaleString('en')}
        yAxisLabel="Images"
        xAxisProps={many ? { angle: -35, textAnchor: 'end', height: 70, interval: 0 } : { interval: 0 }}
        tickLine="y"
        maxBarWidth={64}
        data-testid="balance-chart"
      />
    </div>
  );
}

function BalanceTable({ balance, selected, onSelect }: { balance: BalanceView; selected: string | null; onSelect: (name: string | null) => void }) {
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table aria-label="Images per class" verticalSpacing={6} highlightOnHover data-testid="balance-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Class</Table.Th>
            <Table.Th ta="right">Images</Table.Th>
            <Table.Th ta="right">Share</Table.Th>
            <Table.Th ta="right">Target</Table.Th>
            <Table.Th ta="right">Generated needed</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {balance.classes.map((c) => {
            const open = selected === c.name;
            return (
              <Table.Tr key={c.name} data-testid="balance-row" bg={open ? 'var(--mantine-primary-color-light)' : undefined}>
                <Table.Td>
                  <Group gap={6} wrap="nowrap">
                    <UnstyledButton
                      onClick={() => onSelect(open ? null : c.name)}
                      aria-expanded={open}
                      aria-label={`${open ? 'Hide' : 'Show'} examples of ${c.name}`}
                      style={{ display: 'flex', alignItems: 'center', gap: 4 }}
                    >
                      {open ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
                      <Text size="sm" fw={500} td="underline" style={{ textDecorationStyle: 'dotted' }}>
                        {c.name}
                      </Text>
                    </UnstyledButton>
                    {c.tooSmall && (
                      <Tooltip label={TOO_SMALL_HELP} multiline w={300} withArrow>
                        <Badge color="orange" variant="light" size="sm" tabIndex={0} data-testid="too-small">
                          Too few for reliable GAN training
                        </Badge>
                      </Tooltip>
                    )}
                  </Group>
                </Table.Td>
                <Table.Td ta="right">{c.count.toLocaleString('en')}</Table.Td>
                <Table.Td ta="right">{formatShare(c.share)}</Table.Td>
                <Table.Td ta="right">{c.target.toLocaleString('en')}</Table.Td>
                <Table.Td ta="right" data-testid={`needed-${c.name}`}>
                  {c.needed === 0 ? '—' : c.needed.toLocaleString('en')}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** What the Balance screen shows for a loaded balance; split out so it can be rendered in tests. */
export function BalanceOverview({
  balance,
  onChanged,
  onConflictDecided,
}: {
  balance: BalanceView;
  onChanged: (b: BalanceView) => void;
  /** A picture under two labels was decided: the counts and the split changed. */
  onConflictDecided: () => void;
}) {
  const [selected, setSelected] = useState<string | null>(null);
  const tooSmall = balance.classes.filter((c) => c.tooSmall);
  return (
    <Stack gap="lg">
      <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="balance-title">
        <Stack gap="md">
          <Title order={3} size="h4" id="balance-title">
            Images per class
          </Title>
          <Text size="lg" fw={500} data-testid="imbalance-ratio">
            {ratioSentence(balance)}
          </Text>
          <ConflictsNote count={balance.conflicts} onDecided={onConflictDecided} />
          <TargetSelector key={JSON.stringify(balance.target)} balance={balance} onChanged={onChanged} />
          <BalanceChart balance={balance} />
          {tooSmall.length > 0 && (
            <Text size="sm" c="dimmed">
              {TOO_SMALL_HELP}
            </Text>
          )}
          <BalanceTable balance={balance} selected={selected} onSelect={setSelected} />
          {selected && balance.classes.some((c) => c.name === selected) ? (
            <ClassSamples className={selected} onClose={() => setSelected(null)} />
          ) : (
            <Text size="xs" c="dimmed">
              Choose a class name to see example images from it.
            </Text>
          )}
        </Stack>
      </Card>
    </Stack>
  );
}

/** The Balance screen: how lopsided the classes are, the target, and the data split. */
export function BalanceScreen({ onGoToImport }: { onGoToImport: () => void }) {
  const [balance, balanceOps] = useCall('balance.get', {});
  const [splits, splitsOps] = useCall('splits.get', {});

  useEvent('job.updated', (job) => {
    if (job.type === 'import' && job.status === 'completed') {
      balanceOps.reload();
      splitsOps.reload();
    }
  });

  let body;
  if (balance.status === 'error' && !balance.data) {
    body = <LoadError title="The class balance could not be loaded" message={balance.error.message} onRetry={balanceOps.reload} />;
  } else if (!balance.data) {
    body = (
      <Group gap="xs">
        <Loader size="sm" />
        <Text c="dimmed">Counting images…</Text>
      </Group>
    );
  } else if (balance.data.classes.length === 0) {
    body = (
      <Card withBorder radius="md" padding="lg" data-testid="balance-empty">
        <Stack gap="sm" align="flex-start">
          <Text fw={600}>No images yet</Text>
          <Text size="sm" c="dimmed">
            Once you import your dataset, this screen shows how many images each class has and how many generated images
            would even them out.
          </Text>
          <Button component="a" href="#/import" onClick={(e) => { e.preventDefault(); onGoToImport(); }}>
            Go to Import
          </Button>
        </Stack>
      </Card>
    );
  } else {
    body = (
      <>
        <BalanceOverview
          balance={balance.data}
          onChanged={balanceOps.setData}
          onConflictDecided={() => {
            balanceOps.reload();
            splitsOps.reload();
          }}
        />
        <SplitsPanel splits={splits} onChanged={splitsOps.setData} />
      </>
    );
  }

  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>Balance</Title>
        <Text size="sm" c="dimmed">
          How many images each class has, and how many generated images each class would need to reach the target you choose.
        </Text>
      </div>
      {body}
    </Stack>
  );
}
