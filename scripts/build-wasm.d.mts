/** Types of ./build-wasm.mjs (for its test). */
export declare const BINARIES_FILE: string;
export declare function renderBinaries(): Promise<string>;
export declare function compileModule(text: string, options?: { shared?: boolean; fma?: boolean }): Promise<Uint8Array>;
