import { Button, Group, TextInput } from '@mantine/core';
import { IconFolderOpen } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import type { ProjectStatus } from '../../../shared/contract';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { fieldErrorOf } from './fieldErrors';

interface Props {
  canBrowse: boolean;
  pickFolder: (title: string) => Promise<string | null>;
  onOpened: (project: ProjectStatus) => void;
}

/** Opens a project folder by path; field-level errors (kind `validation`, field `path`) stay beside the input. */
export function OpenExistingForm({ canBrowse, pickFolder, onOpened }: Props) {
  const client = useClient();
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const open = async (target: string) => {
    if (target.trim() === '') {
      setError('Type the path of a project folder (it ends in .ganaug).');
      return;
    }
    setBusy(true);
    try {
      onOpened(await client.call('projects.open', { path: target.trim() }));
    } catch (err) {
      const fieldError = fieldErrorOf(err, ['path'] as const);
      if (fieldError) setError(fieldError.path);
      else notifyError(err);
    } finally {
      setBusy(false);
    }
  };

  const browse = async () => {
    const picked = await pickFolder('Open a GAN Augment project');
    if (picked) {
      setPath(picked);
      await open(picked);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void open(path);
  };

  return (
    <form onSubmit={submit} noValidate aria-label="Open existing project">
      <TextInput
        label="Project folder"
        description={
          canBrowse ? 'Choose a folder ending in .ganaug, or type its path.' : 'Type the full path of a folder ending in .ganaug.'
        }
        placeholder="/home/you/GAN Augment/Skin lesions.ganaug"
        value={path}
        onChange={(e) => {
          setPath(e.currentTarget.value);
          setError(undefined);
        }}
        error={error}
        spellCheck={false}
        data-testid="open-path"
        inputContainer={(input) => (
          <Group gap="xs" wrap="nowrap" align="flex-start">
            <div style={{ flex: 1 }}>{input}</div>
            {canBrowse && (
              <Button variant="default" onClick={browse} leftSection={<IconFolderOpen size={16} />}>
                Browse…
              </Button>
            )}
            <Button type="submit" loading={busy}>
              Open
            </Button>
          </Group>
        )}
      />
    </form>
  );
}
