/** Branded ids: a JobId cannot be passed where a ClassId belongs. */
export type Brand<T, B extends string> = T & { readonly __brand: B };
export type JobId = Brand<string, 'JobId'>;
export type ClassId = Brand<number, 'ClassId'>;
export type ImageId = Brand<number, 'ImageId'>;

export const asJobId = (s: string) => s as JobId;
