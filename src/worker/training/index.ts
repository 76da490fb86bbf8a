/** The worker's ML API: what src/worker/index.ts calls. */
export {
  createTrainer,
  loadTrainer,
  readCheckpoint,
  GanTrainer,
  DcganTrainer,
  CwganGpTrainer,
  type Trainer,
  type StepMetrics,
  type TrainerOptions,
  type GeneratedImage,
  readLossEveryOn,
} from './trainer';
export { loadDataset, datasetFromPixels, type Dataset, type DatasetFile } from './dataset';
export { DeviceOutOfMemoryError, isOutOfMemory, OOM_MESSAGE } from './errors';
export { CHECKPOINT_FORMAT_VERSION, type CheckpointMeta } from './checkpoint';
export { hashSeed } from './rng';
export { makeConfig, validateConfig, type GanConfig, type ModelFamily, type Resolution, type PresetName } from '../models/config';
export { initBackend, currentBackend, releaseIdleBackendMemory, type BackendChoice, type BackendInfo, BackendUnavailableError } from '../backends';
