import { Button, Group, Loader, Modal, Stack, Text } from '@mantine/core';
import { IconTrash } from '@tabler/icons-react';
import { useState } from 'react';
import type { Run } from '../../../shared/contract';
import { runDeletedSentence, runDeletionSentence } from '../../../shared/disk';
import { useCall, useClient } from '../../api/hooks';
import { LoadError } from '../../components/LoadError';
import { notifyError, notifyNotice } from '../../lib/notify';
import { runTitle } from './trainingState';

/** What deleting the run deletes (asked for when the dialog opens), and the two ways out. */
function Confirm({ run, onClose, onDeleted }: { run: Run; onClose: () => void; onDeleted: (runId: string) => void }) {
  const client = useClient();
  const [footprint, footprintOps] = useCall('runs.footprint', { runId: run.id });
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      const deleted = await client.call('runs.delete', { runId: run.id });
      notifyNotice({ color: 'green', title: 'Run deleted', message: runDeletedSentence(run.id, deleted) });
      onDeleted(run.id);
    } catch (err) {
      notifyError(err);
      setBusy(false);
    }
  };
  return (
    <Stack gap="md">
      {footprint.status === 'error' ? (
        <LoadError title="What the run takes could not be measured" message={footprint.error.message} onRetry={footprintOps.reload} />
      ) : footprint.data ? (
        <Text size="sm" data-testid="delete-run-sentence">
          {runDeletionSentence(footprint.data)}
        </Text>
      ) : (
        <Loader size="sm" aria-label="Measuring what the run takes" />
      )}
      <Group justify="flex-end" gap="xs">
        <Button variant="default" onClick={onClose} disabled={busy} data-autofocus>
          Keep the run
        </Button>
        <Button color="red" leftSection={<IconTrash size={16} />} onClick={() => void remove()} loading={busy} disabled={!footprint.data} data-testid="delete-run-confirm">
          Delete run
        </Button>
      </Group>
    </Stack>
  );
}

/** The dashboard's Delete button: frees the disk a run takes, after saying what goes. Not while it trains. */
export function DeleteRun({ run, disabled, onDeleted }: { run: Run; disabled: boolean; onDeleted: (runId: string) => void }) {
  const [open, setOpen] = useState(false);
  const active = run.status === 'running' || run.status === 'queued';
  return (
    <>
      <Button
        variant="subtle"
        color="red"
        leftSection={<IconTrash size={16} />}
        disabled={active || disabled}
        title={active ? 'Pause or stop the run to delete it.' : 'Delete this run and free the disk it takes.'}
        onClick={() => setOpen(true)}
        data-testid="run-delete"
      >
        Delete
      </Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={`Delete ${runTitle(run)}?`} centered>
        {open && <Confirm run={run} onClose={() => setOpen(false)} onDeleted={onDeleted} />}
      </Modal>
    </>
  );
}
