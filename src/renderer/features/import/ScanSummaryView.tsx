import { Accordion, Alert, Badge, Group, List, Stack, Table, Text, Title } from '@mantine/core';
import { IconAlertTriangle, IconInfoCircle } from '@tabler/icons-react';
import type { ScanSummary } from './types';
import { groupProblems, plural } from './importText';
import { importDiskIsEnough, importDiskSentence } from '../../../shared/disk';

const SHOWN_PER_GROUP = 50;

/** What the pre-scan found: classes with counts, the total, and the problems grouped by kind. */
export function ScanSummaryView({ scan }: { scan: ScanSummary }) {
  const groups = groupProblems(scan.problems);
  return (
    <Stack gap="md" data-testid="scan-summary">
      {scan.total === 0 ? (
        <Alert color="red" icon={<IconAlertTriangle size={18} />} title="No images found" data-testid="scan-empty">
          Nothing here can be imported. Check that the path is right and, for a folder source, that the images sit inside
          one subfolder per class (for example <code>skin/melanoma/img1.jpg</code>), not directly in the folder you chose.
          Images must end in .jpg, .jpeg, .png, .bmp, .tif, .tiff or .webp.
        </Alert>
      ) : (
        <Text data-testid="scan-total">
          Found <b>{plural(scan.total, 'image file', 'image files')}</b> in <b>{plural(scan.classes.length, 'class', 'classes')}</b>. Each file
          is opened and checked during the import; damaged files are reported then, not now.
        </Text>
      )}

      {scan.total > 0 &&
        (importDiskIsEnough(scan.disk) ? (
          <Text size="sm" c="dimmed" data-testid="scan-disk">
            {importDiskSentence(scan.disk)}
          </Text>
        ) : (
          <Alert color="yellow" icon={<IconAlertTriangle size={18} />} title="Not enough disk space" data-testid="scan-disk">
            {importDiskSentence(scan.disk)}
          </Alert>
        ))}

      {scan.classes.length > 0 && (
        <Table.ScrollContainer minWidth={300} maxHeight={320}>
          <Table aria-label="Classes found" verticalSpacing={4} data-testid="scan-classes" maw={520}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Class</Table.Th>
                <Table.Th ta="right">Files</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {scan.classes.map((c) => (
                <Table.Tr key={c.name}>
                  <Table.Td>{c.name}</Table.Td>
                  <Table.Td ta="right">{c.count.toLocaleString('en')}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}

      <div>
        <Title order={3} size="h5" mb={4}>
          Problems found so far
        </Title>
        {groups.length === 0 ? (
          <Group gap={6}>
            <IconInfoCircle size={16} aria-hidden />
            <Text size="sm" c="dimmed" data-testid="scan-no-problems">
              None. Every file sits where its class is clear.
            </Text>
          </Group>
        ) : (
          <Accordion variant="separated" multiple data-testid="scan-problems">
            {groups.map((g) => (
              <Accordion.Item key={g.kind} value={g.kind}>
                <Accordion.Control>
                  <Group gap="xs" wrap="nowrap">
                    <Badge variant="light" color="orange">
                      {g.problems.length.toLocaleString('en')}
                    </Badge>
                    <Text size="sm">{g.heading}</Text>
                  </Group>
                </Accordion.Control>
                <Accordion.Panel>
                  <List size="sm" spacing={4}>
                    {g.problems.slice(0, SHOWN_PER_GROUP).map((p, i) => (
                      <List.Item key={i}>{p.message}</List.Item>
                    ))}
                  </List>
                  {g.problems.length > SHOWN_PER_GROUP && (
                    <Text size="xs" c="dimmed" mt={4}>
                      And {plural(g.problems.length - SHOWN_PER_GROUP, 'more', 'more')}; all are listed in the import report.
                    </Text>
                  )}
                </Accordion.Panel>
              </Accordion.Item>
            ))}
          </Accordion>
        )}
      </div>
      {scan.total > 0 && (
        <Text size="sm" c="dimmed">
          Your original files are only read, never changed or moved.
        </Text>
      )}
    </Stack>
  );
}
