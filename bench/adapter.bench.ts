/**
 * What the WebGPU adapter offers (not a test): one JSON line with the adapter's description, its
 * features (shader-f16, subgroups, and, asked with unsafe APIs allowed, Dawn's experimental ones such
 * as chromium-experimental-subgroup-matrix: issue 5's f16 and matrix-unit paths need them) and the
 * limits our kernels depend on.
 *
 *   npx tsx bench/adapter.bench.ts
 */
import { runBench } from './support';
import { initBackend } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';

interface AdapterLike {
  features: Iterable<string>;
  limits: Record<string, number>;
  info?: Record<string, unknown>;
}

async function main(): Promise<void> {
  const backend = await initBackend('webgpu');
  const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(o?: object): Promise<AdapterLike | null> } } }).navigator.gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('No WebGPU adapter.');
  const device = (tf.backend() as unknown as { device: { features: Iterable<string> } }).device;
  const limits = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'minSubgroupSize',
    'maxSubgroupSize',
  ];
  const info = adapter.info ?? {};
  // Dawn lists its experimental features (chromium-experimental-*) only with unsafe APIs allowed.
  const dawn = (await import('webgpu')) as unknown as { create(o: string[]): { requestAdapter(o?: object): Promise<AdapterLike | null> } };
  const unsafe = await dawn.create(['enable-dawn-features=allow_unsafe_apis']).requestAdapter({ powerPreference: 'high-performance' });
  console.log(
    JSON.stringify({
      bench: 'adapter',
      device: backend.device,
      info: Object.fromEntries(['vendor', 'architecture', 'device', 'description'].map((k) => [k, info[k]])),
      adapterFeatures: [...adapter.features].sort(),
      deviceFeatures: [...device.features].sort(),
      experimentalFeatures: unsafe ? [...unsafe.features].filter((f) => f.startsWith('chromium-experimental')).sort() : null,
      // Which matrix shapes and component types the subgroup-matrix feature offers (Dawn's adapter info).
      subgroupMatrixConfigs:
        (unsafe?.info as { subgroupMatrixConfigs?: Array<Record<string, unknown>> } | undefined)?.subgroupMatrixConfigs?.map((c) => ({
          componentType: c.componentType,
          resultComponentType: c.resultComponentType,
          M: c.M,
          N: c.N,
          K: c.K,
        })) ?? null,
      limits: Object.fromEntries(limits.map((k) => [k, adapter.limits[k]])),
      date: new Date().toISOString(),
    }),
  );
}

runBench(main);
