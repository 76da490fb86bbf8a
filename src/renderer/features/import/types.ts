/** The import's shapes as the contract delivers them to the window (kinds are plain strings here). */
import type { CallOutput } from '../../../shared/contract';

export type CsvPreview = CallOutput<'import.previewCsv'>;
export type CsvMapping = CsvPreview['suggested'];
export type ScanSummary = CallOutput<'import.scan'>;
export type SourceProblem = ScanSummary['problems'][number];
export type ImportSummary = NonNullable<CallOutput<'import.latest'>>;
