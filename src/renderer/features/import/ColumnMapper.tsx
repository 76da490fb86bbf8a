import { Badge, Checkbox, Group, SegmentedControl, Select, SimpleGrid, Stack, Table, Text } from '@mantine/core';
import type { CsvMapping, CsvPreview } from './types';
import type { LocationErrors } from './wizardState';

interface Props {
  preview: CsvPreview;
  mapping: CsvMapping;
  errors: LocationErrors;
  onFormat: (format: CsvMapping['format']) => void;
  onFileColumn: (column: string) => void;
  onLabelColumn: (column: string) => void;
  onLabelColumns: (columns: string[]) => void;
  onGroupColumn: (column: string | null) => void;
}

type Role = 'file' | 'class' | 'group' | null;

function roleOf(mapping: CsvMapping, column: string): Role {
  if (column === mapping.fileColumn) return 'file';
  if (mapping.groupColumn === column) return 'group';
  if (mapping.format === 'columns' ? mapping.labelColumn === column : mapping.labelColumns.includes(column)) return 'class';
  return null;
}

const ROLE_BADGE: Record<Exclude<Role, null>, { label: string; color: string }> = {
  file: { label: 'File', color: 'blue' },
  class: { label: 'Class', color: 'grape' },
  group: { label: 'Patient / lesion', color: 'teal' },
};

/** Which CSV columns hold the file, the class and (optionally) the patient or lesion id, with the first rows shown. */
export function ColumnMapper({ preview, mapping, errors, onFormat, onFileColumn, onLabelColumn, onLabelColumns, onGroupColumn }: Props) {
  const options = preview.columns.map((c) => ({ value: c, label: c }));
  const classChoices = preview.columns.filter((c) => c !== mapping.fileColumn && c !== mapping.groupColumn);
  return (
    <Stack gap="md" data-testid="column-mapper">
      <div>
        <Text size="sm" fw={500} id="csv-format-label">
          How does the CSV give each image’s class?
        </Text>
        <SegmentedControl
          mt={4}
          aria-labelledby="csv-format-label"
          value={mapping.format}
          onChange={(v) => onFormat(v as CsvMapping['format'])}
          data={[
            { value: 'columns', label: 'One column holds the class name' },
            { value: 'one-hot', label: 'One column per class, marked 1 or 0' },
          ]}
          data-testid="csv-format"
        />
        <Text size="xs" c="dimmed" mt={4}>
          {preview.detectedFormat === 'one-hot'
            ? 'This file looks like one column per class (as in the ISIC challenge files).'
            : 'This file looks like one row per image with its class name.'}
        </Text>
      </div>

      <SimpleGrid cols={{ base: 1, sm: mapping.format === 'columns' ? 3 : 2 }}>
        <Select
          label="File column"
          description="The image’s file name, or its name without the extension"
          data={options}
          value={mapping.fileColumn}
          onChange={(v) => v && onFileColumn(v)}
          error={errors.fileColumn}
          allowDeselect={false}
          data-testid="map-file"
        />
        {mapping.format === 'columns' && (
          <Select
            label="Class column"
            description="The class (label) of each image"
            data={options.filter((o) => o.value !== mapping.fileColumn)}
            value={mapping.labelColumn || null}
            onChange={(v) => v && onLabelColumn(v)}
            error={errors.labelColumn}
            allowDeselect={false}
            data-testid="map-label"
          />
        )}
        <Select
          label="Patient or lesion column (optional)"
          description="Patient or lesion id — keeps one person’s images in one split"
          placeholder="None"
          data={options.filter((o) => o.value !== mapping.fileColumn)}
          value={mapping.groupColumn ?? null}
          onChange={onGroupColumn}
          error={errors.groupColumn}
          clearable
          data-testid="map-group"
        />
      </SimpleGrid>

      {mapping.format === 'one-hot' && (
        <Checkbox.Group
          label="Columns treated as classes"
          description="Each row must have a 1 in exactly one of these columns; rows with none or several are reported, not guessed."
          value={mapping.labelColumns}
          onChange={onLabelColumns}
          error={errors.labelColumns}
          data-testid="map-classes"
        >
          <Group gap="md" mt="xs">
            {classChoices.map((c) => (
              <Checkbox key={c} value={c} label={c} />
            ))}
          </Group>
        </Checkbox.Group>
      )}

      <div>
        <Text size="sm" fw={500} mb={4}>
          First rows of the CSV
        </Text>
        <Table.ScrollContainer minWidth={400} maxHeight={260}>
          <Table striped withTableBorder withColumnBorders verticalSpacing={4} fz="xs" aria-label="First rows of the CSV" data-testid="csv-preview">
            <Table.Thead>
              <Table.Tr>
                {preview.columns.map((c) => {
                  const role = roleOf(mapping, c);
                  return (
                    <Table.Th key={c} style={{ whiteSpace: 'nowrap' }}>
                      <Group gap={4} wrap="nowrap">
                        <span>{c}</span>
                        {role && (
                          <Badge size="xs" variant="light" color={ROLE_BADGE[role].color}>
                            {ROLE_BADGE[role].label}
                          </Badge>
                        )}
                      </Group>
                    </Table.Th>
                  );
                })}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {preview.rows.map((row, i) => (
                <Table.Tr key={i}>
                  {preview.columns.map((c, j) => (
                    <Table.Td key={c} style={{ whiteSpace: 'nowrap' }}>
                      {row[j] ?? ''}
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {preview.rows.length === 0 && (
          <Text size="sm" c="orange">
            The CSV has a header line but no rows.
          </Text>
        )}
      </div>
    </Stack>
  );
}
