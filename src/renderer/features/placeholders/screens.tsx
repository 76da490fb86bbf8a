import { ComingSoon } from './ComingSoon';

export function ImportScreen() {
  return (
    <ComingSoon title="Import">
      Bring in a folder of class subfolders, or images plus a CSV of labels. Every file is checked before it is added,
      and your original images are never changed or moved.
    </ComingSoon>
  );
}

export function BalanceScreen() {
  return (
    <ComingSoon title="Balance">
      See how many images each class has, and choose how many generated images to add to the rare classes, for
      example enough to bring every class up to the size of the largest.
    </ComingSoon>
  );
}

export function TrainingScreen() {
  return (
    <ComingSoon title="Training">
      Train a generative model on your images, one per class or one for all classes. You will be able to pause and
      resume, and watch sample images improve as it learns.
    </ComingSoon>
  );
}

export function GalleryScreen() {
  return (
    <ComingSoon title="Gallery">
      Review generated images beside real ones, and keep or discard each. Images that look too close to a real
      training image, or unlike their class, will be flagged for you.
    </ComingSoon>
  );
}

export function EvaluateScreen() {
  return (
    <ComingSoon title="Evaluate">
      Measure whether the kept images help: a classifier is trained on real images only and on real plus generated
      images, and precision, recall and F1 for each class are compared over several runs.
    </ComingSoon>
  );
}

export function ExportScreen() {
  return (
    <ComingSoon title="Export">
      Save a balanced dataset as one folder per class, with a manifest that records which images are real, which
      were generated, and how.
    </ComingSoon>
  );
}
