import { Alert, Badge, Button, Card, Collapse, Group, Loader, NumberInput, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { IconInfoCircle } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import type { CallState } from '../../api/hooks';
import { splitInput, toPercent, validateSplitForm, type SplitForm, type SplitsView } from './balanceText';

interface Props {
  splits: CallState<SplitsView>;
  onChanged: (splits: SplitsView) => void;
}

function SplitFormView({ splits, onSaved, onCancel }: { splits: SplitsView; onSaved: (s: SplitsView) => void; onCancel: () => void }) {
  const client = useClient();
  const [form, setForm] = useState<SplitForm>({
    seed: splits.seed,
    train: toPercent(splits.ratios.train),
    val: toPercent(splits.ratios.val),
    test: toPercent(splits.ratios.test),
  });
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const errors = tried ? validateSplitForm(form) : {};
  const liveSum = validateSplitForm(form).sum;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (Object.keys(validateSplitForm(form)).length > 0) return;
    setBusy(true);
    try {
      onSaved(await client.call('splits.set', splitInput(form)));
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };

  const set = (key: keyof SplitForm) => (v: number | string) => setForm((f) => ({ ...f, [key]: v }));
  return (
    <form onSubmit={submit} noValidate data-testid="split-form">
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
          <NumberInput
            label="Seed"
            description="Same seed, same split"
            value={form.seed}
            onChange={set('seed')}
            error={errors.seed}
            min={0}
            max={2 ** 31 - 1}
            allowDecimal={false}
            allowNegative={false}
          />
          <NumberInput label="Training %" value={form.train} onChange={set('train')} error={errors.train} min={0} max={100} suffix="%" decimalScale={1} description="Used to train" />
          <NumberInput label="Validation %" value={form.val} onChange={set('val')} error={errors.val} min={0} max={100} suffix="%" decimalScale={1} description="Used to tune" />
          <NumberInput label="Test %" value={form.test} onChange={set('test')} error={errors.test} min={0} max={100} suffix="%" decimalScale={1} description="Kept for the final check" />
        </SimpleGrid>
        <Text size="sm" c={liveSum ? 'red' : 'dimmed'} role={tried && liveSum ? 'alert' : undefined} data-testid="split-sum">
          {liveSum ?? 'The three shares add up to 100%.'}
        </Text>
        <Text size="xs" c="dimmed" data-testid="split-redraw-note">
          Applying draws every image again, so images a model has trained on may move to validation or test. Imports and decided conflicts never
          move an image: new ones join the split.
        </Text>
        <Group gap="sm">
          <Button type="submit" loading={busy}>
            Apply this split
          </Button>
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The stratified train / validation / test split: seed, shares, per-class counts, and a form to change it. */
export function SplitsPanel({ splits, onChanged }: Props) {
  const [editing, setEditing] = useState(false);
  const data = splits.data;
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="splits-title" data-testid="splits-panel">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={3} size="h4" id="splits-title">
            Training, validation and test split
          </Title>
          {data && !editing && (
            <Button variant="default" size="xs" onClick={() => setEditing(true)} data-testid="change-split">
              Change split…
            </Button>
          )}
        </Group>
        {splits.status === 'error' && !data ? (
          <Alert color="red">{splits.error.message}</Alert>
        ) : !data ? (
          <Loader size="sm" />
        ) : (
          <>
            <Text size="sm">
              The real images of each class are divided in the same proportions (a stratified split):{' '}
              <b>
                {toPercent(data.ratios.train)}% training, {toPercent(data.ratios.val)}% validation, {toPercent(data.ratios.test)}% test
              </b>
              , chosen at random with seed <b data-testid="split-seed">{data.seed}</b> so the same split comes out every time.
            </Text>
            <Group gap="xs">
              {data.grouped ? (
                <Badge color="teal" variant="light">
                  Grouped by patient / lesion
                </Badge>
              ) : (
                <Badge color="gray" variant="light">
                  Not grouped
                </Badge>
              )}
              <Text size="xs" c="dimmed">
                {data.grouped
                  ? 'All images of one patient or lesion are in the same split, so the test images are truly unseen.'
                  : 'Your images carry no patient or lesion id, so each image is placed on its own.'}
              </Text>
            </Group>
            <Alert variant="light" color="blue" icon={<IconInfoCircle size={18} />} py="xs">
              Generated images only ever go into training. Validation and test always hold real images only.
            </Alert>
            <Collapse expanded={editing}>
              {editing && (
                <SplitFormView
                  splits={data}
                  onCancel={() => setEditing(false)}
                  onSaved={(s) => {
                    onChanged(s);
                    setEditing(false);
                  }}
                />
              )}
            </Collapse>
            {data.classes.length > 0 && (
              <Table.ScrollContainer minWidth={420}>
                <Table aria-label="Images per split" verticalSpacing={4} data-testid="splits-table">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Class</Table.Th>
                      <Table.Th ta="right">Training</Table.Th>
                      <Table.Th ta="right">Validation</Table.Th>
                      <Table.Th ta="right">Test</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.classes.map((c) => (
                      <Table.Tr key={c.name}>
                        <Table.Td>{c.name}</Table.Td>
                        <Table.Td ta="right">{c.train.toLocaleString('en')}</Table.Td>
                        <Table.Td ta="right">{c.val.toLocaleString('en')}</Table.Td>
                        <Table.Td ta="right">{c.test.toLocaleString('en')}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </>
        )}
      </Stack>
    </Card>
  );
}
