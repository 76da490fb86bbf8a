import { Card, Code, Group, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { GoToImport } from '../../components/GoToImport';
import type { Job, ProjectStatus } from '../../../shared/contract';
import { JobsList } from '../jobs/JobsList';
import { DiskPanel } from './DiskPanel';
import { VerifyPanel } from './VerifyPanel';

interface Props {
  project: ProjectStatus;
  jobs: readonly Job[];
  onJob: (job: Job) => void;
  onGoToImport: () => void;
  onGoToTraining: () => void;
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Card withBorder radius="md" padding="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700} data-testid={testId}>
        {value}
      </Text>
    </Card>
  );
}

function ClassesTable({ project }: { project: ProjectStatus }) {
  const largest = Math.max(1, ...project.classes.map((c) => c.imageCount));
  return (
    <Table aria-label="Classes" verticalSpacing={6}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Class</Table.Th>
          <Table.Th ta="right">Images</Table.Th>
          <Table.Th w="45%">Compared with the largest class</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {project.classes.map((c) => (
          <Table.Tr key={c.id}>
            <Table.Td>{c.name}</Table.Td>
            <Table.Td ta="right">{c.imageCount.toLocaleString('en')}</Table.Td>
            <Table.Td>
              <Progress value={(c.imageCount / largest) * 100} aria-label={`${c.name}: ${c.imageCount} images`} />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function Overview({ project, jobs, onJob, onGoToImport, onGoToTraining }: Props) {
  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>Overview</Title>
        <Group gap="xs" wrap="nowrap">
          <Text size="xs" c="dimmed">
            Saved in
          </Text>
          <Code data-testid="project-path" style={{ wordBreak: 'break-all' }}>
            {project.path}
          </Code>
        </Group>
      </div>
      <SimpleGrid cols={{ base: 1, xs: 3 }}>
        <Stat label="Images" value={project.imageCount.toLocaleString('en')} testId="stat-images" />
        <Stat label="Classes" value={String(project.classes.length)} testId="stat-classes" />
        <Stat label="Project format" value={`Version ${project.schemaVersion}`} testId="stat-schema" />
      </SimpleGrid>

      <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="classes-title">
        <Stack gap="sm">
          <Title order={3} size="h4" id="classes-title">
            Classes
          </Title>
          {project.classes.length === 0 ? (
            <Text size="sm" c="dimmed" data-testid="classes-empty">
              No images yet. Go to{' '}
              <GoToImport onGoToImport={onGoToImport} />{' '}
              to bring in your dataset; each class and its number of images will appear here.
            </Text>
          ) : (
            <ClassesTable project={project} />
          )}
        </Stack>
      </Card>

      <VerifyPanel jobs={jobs} onJob={onJob} />

      <DiskPanel jobs={jobs} imageCount={project.imageCount} onGoToTraining={onGoToTraining} />

      <Card withBorder radius="md" padding="lg" component="section" aria-labelledby="jobs-title">
        <Stack gap="sm">
          <Title order={3} size="h4" id="jobs-title">
            Jobs
          </Title>
          <JobsList jobs={jobs} />
        </Stack>
      </Card>

    </Stack>
  );
}
