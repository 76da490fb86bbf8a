import { Stack, Text, Title } from '@mantine/core';
import type { Job } from '../../../shared/contract';
import { GenerateSection } from './GenerateSection';

interface Props {
  jobs: readonly Job[];
  onJob: (job: Job) => void;
  onGoToTraining: () => void;
}

/** The Gallery: generate images from a trained model; reviewing and curating them comes here later. */
export function GalleryScreen({ jobs, onJob, onGoToTraining }: Props) {
  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>Gallery</Title>
        <Text c="dimmed" size="sm" maw={760}>
          Generate images for a class from a trained model. Soon you will also review them here beside real ones and keep or
          discard each; images that look too close to a real training image, or unlike their class, will be flagged for you.
        </Text>
      </div>
      <GenerateSection jobs={jobs} onJob={onJob} onGoToTraining={onGoToTraining} />
    </Stack>
  );
}
