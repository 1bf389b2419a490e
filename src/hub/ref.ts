/**
 * Hugging Face Hub model names, in the forms a user writes them:
 *   'hf:owner/repo'                           the repository; files chosen by select.ts
 *   'hf:owner/repo/path/file.gguf'            one file (a split GGUF's first part brings the rest)
 *   'hf:owner/repo:Q8_0'                      a quantisation (GGUF) or ONNX variant, as llama.cpp's -hf
 *   'hf:owner/repo@revision/...'              a branch, tag or commit
 *   { hub: 'owner/repo', revision?, file? }   the same as an object
 *   'https://huggingface.co/owner/repo/resolve/main/file.gguf' (or /blob/, /tree/, or the repo page)
 */
export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubModelSource {
  /** 'owner/repo'. */
  hub: string;
  /** Branch, tag or commit (default 'main'). */
  revision?: string;
  /** A file or folder of the repository; or a quantisation / ONNX variant name such as 'Q4_K_M' or 'q4f16'. */
  file?: string;
}

export interface HubRef {
  repo: string;
  revision: string;
  /** A path in the repository. */
  file?: string;
  /** A quantisation or variant asked for by name. */
  variant?: string;
  hubUrl: string;
}

/** A repository owner or name: letters, digits, '-', '_', '.', not only dots. */
const REPO_PART = /^(?!\.+$)[\w.-]+$/;

export function isHubModel(source: unknown, hubUrl = DEFAULT_HUB_URL): boolean {
  if (typeof source === 'string') return source.startsWith('hf:') || (/^https?:/i.test(source) && hubUrlRef(source, hubUrl) !== undefined);
  if (source instanceof URL) return hubUrlRef(source.href, hubUrl) !== undefined;
  return typeof source === 'object' && source !== null && !Array.isArray(source) && typeof (source as HubModelSource).hub === 'string';
}

function checkRepo(repo: string, given: string): string {
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => REPO_PART.test(p))) throw new HubRefError(`'${given}' does not name a Hub repository: expected 'hf:owner/repo' (optionally '/file', ':quant' or '@revision')`);
  return repo;
}

export class HubRefError extends Error {}

/** A file name or a variant: names with a '.' or a '/' are paths; 'Q4_K_M', 'q4f16' are variants. */
function fileOrVariant(v: string | undefined): { file?: string; variant?: string } {
  if (!v) return {};
  return /[./]/.test(v) ? { file: v.replace(/^\/+|\/+$/g, '') } : { variant: v };
}

export function parseHubModel(source: string | URL | HubModelSource, hubUrl = DEFAULT_HUB_URL): HubRef {
  const base = hubUrl.replace(/\/+$/, '');
  if (typeof source === 'object' && !(source instanceof URL)) {
    return { repo: checkRepo(source.hub, source.hub), revision: source.revision || 'main', ...fileOrVariant(source.file), hubUrl: base };
  }
  const text = String(source);
  if (!text.startsWith('hf:')) {
    const r = hubUrlRef(text, base);
    if (!r) throw new HubRefError(`${text} is not a Hub URL`);
    return r;
  }
  // hf:owner/repo[@revision][:variant][/path]
  const m = /^hf:([^/@:]+\/[^/@:]+)(?:@([^/:]+))?(?::([^/]+))?(?:\/(.+))?$/.exec(text);
  if (!m) throw new HubRefError(`'${text}' does not name a Hub model: expected 'hf:owner/repo', 'hf:owner/repo/file.gguf', 'hf:owner/repo:Q4_K_M' or 'hf:owner/repo@revision/file'`);
  const [, repo, revision, variant, file] = m;
  return { repo: checkRepo(repo!, text), revision: revision ? decodeURIComponent(revision) : 'main', file: file ? decodeURIComponent(file) : undefined, variant, hubUrl: base };
}

/** owner/repo[/resolve|blob|tree/revision[/path]] on the Hub's origin, else undefined. */
function hubUrlRef(text: string, hubUrl: string): HubRef | undefined {
  let url: URL, hub: URL;
  try {
    url = new URL(text);
    hub = new URL(hubUrl);
  } catch {
    return undefined;
  }
  if (url.origin !== hub.origin) return undefined;
  const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (segs.length < 2 || segs[0] === 'api' || !REPO_PART.test(segs[0]!) || !REPO_PART.test(segs[1]!)) return undefined;
  const repo = `${segs[0]}/${segs[1]}`;
  if (segs.length === 2) return { repo, revision: 'main', hubUrl: hub.origin };
  if (!['resolve', 'blob', 'tree'].includes(segs[2]!) || segs.length < 4) return undefined;
  const file = segs.slice(4).join('/');
  return { repo, revision: segs[3]!, file: file || undefined, hubUrl: hub.origin };
}

/** The canonical name of a reference: what listCachedModels() reports and deleteCachedModel() takes. */
export function hubId(ref: HubRef): string {
  const rev = ref.revision === 'main' ? '' : `@${ref.revision}`;
  return `hf:${ref.repo}${rev}${ref.variant ? `:${ref.variant}` : ''}${ref.file ? `/${ref.file}` : ''}`;
}

/** The Hub URL of a file (the Hub redirects large files to its CDN). */
export function resolveUrl(ref: HubRef, path: string): string {
  return `${ref.hubUrl}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}
