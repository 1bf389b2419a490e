/**
 * Every WGSL source of shaders/, inlined as text by Vite (`?raw`) wherever this module is built or
 * served — webinfer's own builds, its dev server, vitest — so a browser never fetches a shader and
 * an app's bundler has no shader files to find. A static import, not a lazy one: module Service
 * Workers cannot `import()`. Where no Vite transform ran (tsx in Node) `import.meta.glob` does not
 * exist: undefined then, and shaders.ts reads shaders/ from disk.
 */
function inlined(): Record<string, string> | undefined {
  try {
    return import.meta.glob<string>('../../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });
  } catch {
    return undefined;
  }
}

export const SHADER_TEXT = inlined();
