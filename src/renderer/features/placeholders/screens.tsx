import { ComingSoon } from './ComingSoon';

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
