import { Button, Card, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconFlask, IconFolderOpen, IconPlus } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import type { ProjectStatus } from '../../../shared/contract';
import { useClient } from '../../api/hooks';
import { notifyError } from '../../lib/notify';
import { checkCreateForm, fieldErrorOf, type FieldErrors } from './fieldErrors';

interface Props {
  defaultParentDir: string;
  canBrowse: boolean;
  pickFolder: (title: string) => Promise<string | null>;
  onOpened: (project: ProjectStatus) => void;
}

const FIELDS = ['name', 'parentDir'] as const;

export function CreateProjectForm({ defaultParentDir, canBrowse, pickFolder, onOpened }: Props) {
  const client = useClient();
  const [name, setName] = useState('');
  // null until the person edits it, so the app's default folder can arrive after the first render.
  const [parentDir, setParentDir] = useState<string | null>(null);
  const [errors, setErrors] = useState<FieldErrors<(typeof FIELDS)[number]>>({});
  const [busy, setBusy] = useState(false);
  const [sampleBusy, setSampleBusy] = useState(false);
  const folder = parentDir ?? defaultParentDir;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local = checkCreateForm(name, folder);
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    await openWith(setBusy, () => client.call('projects.create', { name: name.trim(), parentDir: folder.trim() }));
  };

  /** Runs a create call; field errors go next to their input, others to a notification. */
  const openWith = async (setLoading: (b: boolean) => void, create: () => Promise<ProjectStatus>) => {
    setLoading(true);
    try {
      onOpened(await create());
    } catch (err) {
      const fieldError = fieldErrorOf(err, FIELDS);
      if (fieldError) setErrors(fieldError);
      else notifyError(err);
    } finally {
      setLoading(false);
    }
  };

  /** A ready-made, lopsided project (430 Fashion-MNIST images) to walk the workflow without data of one's own. */
  const trySample = async () => {
    if (folder.trim() === '') {
      setErrors({ parentDir: 'Choose a folder for the project.' });
      return;
    }
    await openWith(setSampleBusy, () => client.call('projects.createSample', { parentDir: folder.trim(), name: trimmed || 'Sample (Fashion-MNIST)' }));
  };

  const browse = async () => {
    const path = await pickFolder('Choose where to save the project');
    if (path) {
      setParentDir(path);
      setErrors((x) => ({ ...x, parentDir: undefined }));
    }
  };

  const trimmed = name.trim();
  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="create-project-title">
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          <div>
            <Title order={2} size="h3" id="create-project-title">
              New project
            </Title>
            <Text size="sm" c="dimmed">
              A project is a folder that keeps your imported images, trained models and results together. Your
              original images are never changed or moved.
            </Text>
          </div>
          <TextInput
            label="Project name"
            placeholder="For example: Skin lesions 2019"
            value={name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              setErrors((x) => ({ ...x, name: undefined }));
            }}
            error={errors.name}
            data-testid="create-name"
            autoFocus
            required
          />
          <TextInput
            label="Folder"
            description={
              canBrowse
                ? 'Where the project folder will be created.'
                : 'Where the project folder will be created. Type the full path of a folder on the computer running GAN Augment.'
            }
            placeholder="/home/you/GAN Augment"
            value={folder}
            onChange={(e) => {
              setParentDir(e.currentTarget.value);
              setErrors((x) => ({ ...x, parentDir: undefined }));
            }}
            error={errors.parentDir}
            data-testid="create-folder"
            spellCheck={false}
            required
            inputContainer={(input) =>
              canBrowse ? (
                <Group gap="xs" wrap="nowrap" align="flex-start">
                  <div style={{ flex: 1 }}>{input}</div>
                  <Button variant="default" onClick={browse} leftSection={<IconFolderOpen size={16} />}>
                    Browse…
                  </Button>
                </Group>
              ) : (
                input
              )
            }
          />
          {trimmed !== '' && folder.trim() !== '' && !errors.name && (
            <Text size="xs" c="dimmed" data-testid="create-preview">
              Will be saved as “{trimmed}.ganaug” in {folder.trim()}
            </Text>
          )}
          <Group justify="space-between">
            <Button
              variant="subtle"
              onClick={trySample}
              loading={sampleBusy}
              leftSection={<IconFlask size={16} />}
              title="Creates a project with 430 small Fashion-MNIST pictures in 5 lopsided classes, to try every step without your own data"
            >
              Try with sample data
            </Button>
            <Button type="submit" loading={busy} leftSection={<IconPlus size={16} />}>
              Create project
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
