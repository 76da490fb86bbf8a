import { Alert, Badge, Button, Group, Image, Loader, Modal, Stack, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useState } from 'react';
import type { Conflict } from '../../../shared/contract';
import { useCall, useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';

const THUMB = 96;

/** One picture: its thumbnail, where each copy came from, and a button per label plus "Keep it out". */
function ConflictRow({ conflict, busy, onDecide }: { conflict: Conflict; busy: boolean; onDecide: (label: string | null) => void }) {
  return (
    <Group align="flex-start" wrap="nowrap" gap="md" data-testid="conflict" data-conflict-id={conflict.id}>
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
      </Stack>
    </Group>
  );
}

function ConflictList({ onDecided, onDone }: { onDecided: () => void; onDone: () => void }) {
  const client = useClient();
  const [list, ops] = useCall('conflicts.list', {});
  const [busy, setBusy] = useState<string | null>(null);
  const decide = async (conflict: Conflict, label: string | null) => {
    setBusy(conflict.id);
    try {
      const r = await client.call('conflicts.decide', { id: conflict.id, label });
      ops.setData((list.data ?? []).filter((c) => c.id !== conflict.id));
      onDecided();
      if (r.remaining === 0) onDone();
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };
  if (list.status === 'error') {
    return (
      <Alert color="red" title="The pictures could not be loaded">
        {list.error.message}
      </Alert>
    );
  }
  if (!list.data) return <Loader size="sm" aria-label="Loading the pictures" />;
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
        <ConflictRow key={c.id} conflict={c} busy={busy !== null} onDecide={(label) => void decide(c, label)} />
      ))}
    </Stack>
  );
}

/** The Balance screen's note about pictures under two labels, with the way to decide them. */
export function ConflictsNote({ count, onDecided }: { count: number; onDecided: () => void }) {
  const [open, setOpen] = useState(false);
  return (
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
      <Modal opened={open} onClose={() => setOpen(false)} title="Pictures under two labels" size="lg">
        {open && <ConflictList onDecided={onDecided} onDone={() => setOpen(false)} />}
      </Modal>
    </Alert>
  );
}
