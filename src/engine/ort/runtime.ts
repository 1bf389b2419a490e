/**
 * Where the ort backend gets onnxruntime-web. The package is an optional peer dependency and
 * tens of MB of WebAssembly, so nothing on the default path names it: a bundler would emit it
 * into every app that imports webinfer. An app that runs ONNX models imports `webinfer/ort`,
 * whose worker (src/worker/ort-worker.ts) provides the module through `provideOrt` with literal
 * `import()`s its bundler follows. Node needs no bundler: the package is imported by name.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtModuleLoader = (native: boolean) => Promise<typeof Ort>;

let loader: OrtModuleLoader | undefined;

export function provideOrt(load: OrtModuleLoader): void {
  loader = load;
}

const inNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

export async function ortModule(native: boolean): Promise<typeof Ort> {
  if (loader) return loader(native);
  if (inNode) {
    // A variable, so no bundler follows it; Node resolves the package's own Node build.
    const name = native ? 'onnxruntime-web/webgpu' : 'onnxruntime-web';
    try {
      return (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as typeof Ort;
    } catch (e) {
      throw new Error(`the ort backend needs the onnxruntime-web package (npm install onnxruntime-web): ${(e as Error).message}`);
    }
  }
  throw new Error("the ort backend is not in this app: add `import 'webinfer/ort'` to the page that calls createFetch (and npm install onnxruntime-web)");
}
