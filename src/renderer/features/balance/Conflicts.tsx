import { Alert, Badge, Button, Group, Image, Loader, Modal, Stack, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useState } from 'react';
import type { Conflict } from '../../../shared/contract';
import { useCall, useClient } from '../../api/hooks';
import { LoadError } from '../../components/LoadError';
import { notifyError } from '../../lib/notify';

const THUMB = 96;

/** How a picture was decided: the label it counts under, or null (kept out). */
type Decision = { label: string | null };

/**
 * One picture: its thumbnail, where each copy came from, and a button per label plus "Keep it out";
 * once decided, what was decided and Undo.
 */
function ConflictRow({
  conflict,
  decision,
  busy,
  onDecide,
  onUndo,
}: {
  conflict: Conflict;
  decision: Decision | undefined;
  busy: boolean;
  onDecide: (label: string | null) => void;
  onUndo: () => void;
}) {
  return (
    <Group align="flex-start" wrap="nowrap" gap="md" data-testid="conflict" data-conflict-id={conflict.id} data-decided={decision ? 'true' : undefined}>
      {conflict.thumb ? (
        <Image src={conflict.thumb} alt={`The picture imported as ${conflict.copies.map((c) => c.label).join(' and ')}`} w={THUMB} h={THUMB} fit="contain" radius="sm" />
      ) : (
        <Badge variant="light" color="gray" w={THUMB} h={THUMB} radius="sm">
          no preview
        </Badge>
      )}
      <Stack gap={6} style={{ minWidth: 0, flex: 1 }}>
        {conflict.copies.map((c) => (
          <Text key={c.label} size="sm" style={{ overflowWrap: 'anywhere' }}>
            Imported as <b>{c.label}</b> from {c.relPath}
          </Text>
        ))}
        {decision ? (
          <Group gap="xs">
            <Text size="sm" c="green" fw={500} data-testid="conflict-decision">
              {decision.label === null ? 'Kept out of training.' : `Counts as ${decision.label}.`}
            </Text>
            <Button size="xs" variant="subtle" disabled={busy} onClick={onUndo}>
              Undo
            </Button>
          </Group>
        ) : (
          <Group gap="xs">
            {conflict.copies.map((c) => (
              <Button key={c.label} size="xs" variant="light" disabled={busy} onClick={() => onDecide(c.label)}>
                It is {c.label}
              </Button>
            ))}
            <Button size="xs" variant="default" disabled={busy} onClick={() => onDecide(null)}>
              Keep it out
            </Button>
          </Group>
        )}
      </Stack>
    </Group>
  );
}

function ConflictList({ onChanged, onDone }: { onChanged: () => void; onDone: () => void }) {
  const client = useClient();
  // the pictures undecided when the dialog opened; decided ones stay, with Undo, until it closes
  const [list, listOps] = useCall('conflicts.list', {});
  const [decisions, setDecisions] = useState<ReadonlyMap<string, Decision>>(new Map());
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    try {
      await work();
      onChanged();
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };
  const decide = (conflict: Conflict, label: string | null) =>
    act(async () => {
      await client.call('conflicts.decide', { id: conflict.id, label });
      setDecisions((d) => new Map(d).set(conflict.id, { label }));
    });
  const undo = (conflict: Conflict) =>
    act(async () => {
      await client.call('conflicts.undo', { id: conflict.id });
      setDecisions((d) => {
        const next = new Map(d);
        next.delete(conflict.id);
        return next;
      });
    });
  if (list.status === 'error') {
    return <LoadError title="The pictures could not be loaded" message={list.error.message} onRetry={listOps.reload} />;
  }
  if (!list.data) return <Loader size="sm" aria-label="Loading the pictures" />;
  const left = list.data.filter((c) => !decisions.has(c.id)).length;
  return (
    <Stack gap="md">
      <Text size="sm">
        The same picture (the same file, byte for byte) was imported under more than one label. Only you can tell which is right:
        choose it, and that copy counts and trains under it. If you are not sure, keep it out.
      </Text>
      {list.data.length === 0 && (
        <Text size="sm" c="dimmed" data-testid="conflicts-none">
          Nothing left to decide.
        </Text>
      )}
      {list.data.map((c) => (
        <ConflictRow
          key={c.id}
          conflict={c}
          decision={decisions.get(c.id)}
          busy={busy}
          onDecide={(label) => void decide(c, label)}
          onUndo={() => void undo(c)}
        />
      ))}
      <Group justify="space-between">
        <Text size="sm" c="dimmed" data-testid="conflicts-left">
          {left === 0 ? 'All decided.' : `${left.toLocaleString('en')} left to decide.`}
        </Text>
        <Button onClick={onDone} variant={left === 0 ? 'filled' : 'default'} data-testid="conflicts-done">
          Done
        </Button>
      </Group>
    </Stack>
  );
}

/**
 * The Balance screen's note about pictures under two labels, with the way to decide them; nothing
 * when there are none. The dialog stays open after the last decision (for Undo) until Done.
 */
export function ConflictsNote({ count, onDecided }: { count: number; onDecided: () => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      {count > 0 && (
        <Alert color="orange" icon={<IconAlertTriangle size={18} />} py="xs" data-testid="balance-conflicts">
          <Group justify="space-between" gap="xs" wrap="nowrap">
            <Text size="sm">
              {count.toLocaleString('en')} {count === 1 ? 'picture appears' : 'pictures appear'} under two labels.
              {count === 1 ? ' It is' : ' They are'} kept out of training and out of these counts until you decide.
            </Text>
            <Button size="xs" variant="default" onClick={() => setOpen(true)} data-testid="conflicts-decide">
              Decide…
            </Button>
          </Group>
        </Alert>
      )}
      <Modal opened={open} onClose={() => setOpen(false)} title="Pictures under two labels" size="lg">
        {open && <ConflictList onChanged={onDecided} onDone={() => setOpen(false)} />}
      </Modal>
    </>
  );
}
