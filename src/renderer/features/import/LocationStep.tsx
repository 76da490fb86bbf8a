import { Alert, Button, Group, Loader, Stack, Text } from '@mantine/core';
import { useFilePicker } from '../projects/useFolderPicker';
import { IconTable } from '@tabler/icons-react';
import { useState, type Dispatch } from 'react';
import { useClient, asApiError } from '../../api/hooks';
import { ColumnMapper } from './ColumnMapper';
import { PathInput } from './PathInput';
import { validateLocation, type WizardAction, type WizardState } from './wizardState';

interface Props {
  state: WizardState;
  dispatch: Dispatch<WizardAction>;
  canBrowse: boolean;
  pickFolder: (title: string) => Promise<string | null>;
}

/** Step 2: where the images are; for a CSV source also which columns hold what. */
export function LocationStep({ state, dispatch, canBrowse, pickFolder }: Props) {
  const client = useClient();
  const [, pickFile] = useFilePicker();
  const errors = state.showErrors ? validateLocation(state) : {};
  const [reading, setReading] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);

  const browse = (field: 'root' | 'imagesDir', title: string) =>
    canBrowse
      ? async () => {
          const path = await pickFolder(title);
          if (path) dispatch({ type: 'set-path', field, value: path });
        }
      : undefined;

  const readCsv = async () => {
    const file = state.csvFile.trim();
    if (!file || (state.previewFile === file && state.preview)) return;
    setReading(true);
    setPreviewError(null);
    try {
      const preview = await client.call('import.previewCsv', { file });
      dispatch({ type: 'preview-loaded', file, preview });
    } catch (err) {
      setPreviewError(asApiError(err).message);
      dispatch({ type: 'preview-cleared' });
    } finally {
      setReading(false);
    }
  };

  if (state.kind === 'folder') {
    return (
      <Stack gap="md" maw={760}>
        <PathInput
          label="Folder with one subfolder per class"
          description="For example /data/skin, which holds skin/melanoma/…, skin/nevus/… Images in deeper folders inside a class count for that class."
          placeholder="/path/to/dataset"
          value={state.root}
          error={errors.root}
          onChange={(value) => dispatch({ type: 'set-path', field: 'root', value })}
          onBrowse={browse('root', 'Choose the folder that holds one subfolder per class')}
          testId="source-root"
          autoFocus
        />
        {!canBrowse && (
          <Text size="xs" c="dimmed">
            In the browser, type or paste the folder path as it is on the computer running GAN Augment.
          </Text>
        )}
      </Stack>
    );
  }

  return (
    <Stack gap="md">
      <Stack gap="md" maw={760}>
        <PathInput
          label="Folder with the images"
          description="Searched with its subfolders; the CSV names the files in it."
          placeholder="/path/to/images"
          value={state.imagesDir}
          error={errors.imagesDir}
          onChange={(value) => dispatch({ type: 'set-path', field: 'imagesDir', value })}
          onBrowse={browse('imagesDir', 'Choose the folder that holds the images')}
          testId="source-images"
          autoFocus
        />
        <Group align="flex-end" gap="xs" wrap="nowrap">
          <div style={{ flex: 1 }}>
            <PathInput
              label="CSV file with the labels"
              description="The full path of the file, for example /data/labels.csv"
              placeholder="/path/to/labels.csv"
              value={state.csvFile}
              error={errors.csvFile ?? previewError ?? undefined}
              onChange={(value) => {
                setPreviewError(null);
                dispatch({ type: 'set-path', field: 'csvFile', value });
              }}
              onBlur={() => void readCsv()}
              onBrowse={
                canBrowse
                  ? async () => {
                      const path = await pickFile('Choose the CSV file with the labels', ['csv', 'txt', 'tsv']);
                      if (path) {
                        setPreviewError(null);
                        dispatch({ type: 'set-path', field: 'csvFile', value: path });
                      }
                    }
                  : undefined
              }
              testId="source-csv"
            />
          </div>
          <Button
            variant="default"
            leftSection={<IconTable size={16} />}
            onClick={() => void readCsv()}
            loading={reading}
            disabled={!state.csvFile.trim()}
            mb={errors.csvFile || previewError ? 22 : 0}
            data-testid="read-csv"
          >
            Read columns
          </Button>
        </Group>
      </Stack>
      {reading && !state.preview && (
        <Group gap="xs">
          <Loader size="xs" />
          <Text size="sm" c="dimmed">
            Reading the first rows…
          </Text>
        </Group>
      )}
      {errors.mapping && !previewError && (
        <Alert color="orange" variant="light" py="xs">
          {errors.mapping}
        </Alert>
      )}
      {state.preview && state.mapping && (
        <ColumnMapper
          preview={state.preview}
          mapping={state.mapping}
          errors={errors}
          onFormat={(format) => dispatch({ type: 'set-format', format })}
          onFileColumn={(column) => dispatch({ type: 'set-file-column', column })}
          onLabelColumn={(column) => dispatch({ type: 'set-label-column', column })}
          onLabelColumns={(columns) => dispatch({ type: 'set-label-columns', columns })}
          onGroupColumn={(column) => dispatch({ type: 'set-group-column', column })}
        />
      )}
    </Stack>
  );
}
