/**
 * The import engine's public surface (no database, job or UI knowledge): sources -> probe ->
 * pipeline (batches) -> classify. See each module's header for the decisions it documents.
 */
export * from './sources';
export * from './probe';
export * from '../../shared/import-classify';
export * from './pipeline';
export { decodeBmp, BmpError, type DecodedBmp } from './bmp';
