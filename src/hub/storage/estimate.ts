/** What the browser says this origin may still store (`navigator.storage.estimate()`). */
export async function estimate(): Promise<{ free: number; quota?: number; usage?: number } | undefined> {
  if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return undefined;
  const { quota, usage } = await navigator.storage.estimate();
  if (quota === undefined) return undefined;
  return { free: Math.max(0, quota - (usage ?? 0)), quota, usage };
}
