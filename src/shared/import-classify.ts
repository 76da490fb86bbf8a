// TEMPORARY shim until the import engine moves to src/worker/import
export * from '../main/import/classify';
