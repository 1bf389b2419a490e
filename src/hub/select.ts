/**
 * Which files of a repository make the model. GGUF repositories hold one model per quantisation:
 * without a file name the first of QUANT_PREFERENCE present is taken (a split GGUF's parts
 * together). ONNX repositories (onnx-community): the metadata plus one onnx/ variant and its
 * external data. safetensors repositories: the metadata plus the weights (index and shards).
 */
import { parseSplitPartName } from '../model/files.js';
import type { HubRef } from './ref.js';

export interface RepoFile {
  path: string;
  size: number;
  /** Git blob id (SHA-1 of "blob <size>\0" + content): every file has one. */
  oid?: string;
  /** SHA-256 of the content, for LFS files. */
  sha256?: string;
}

export interface Selection {
  format: 'gguf' | 'safetensors' | 'onnx';
  files: RepoFile[];
  /** The model's folder in the repository ('' or 'path/'): the loaders see names relative to it. */
  base: string;
}

/**
 * The order a GGUF is chosen in when the name does not say: the quantisations that keep quality
 * at a small size first (Q4_K_M is what llama.cpp's -hf and most model cards recommend).
 */
export const QUANT_PREFERENCE = ['Q4_K_M', 'Q4_0', 'Q8_0', 'Q4_K_S', 'Q5_K_M', 'Q6_K', 'Q5_K_S', 'Q5_0', 'Q4_1', 'Q5_1', 'IQ4_XS', 'IQ4_NL', 'Q3_K_M', 'Q3_K_L', 'Q3_K_S', 'Q2_K', 'F16', 'BF16', 'F32'];

/** Files the loaders read besides the weights, when the repository has them. */
const METADATA = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export class SelectionError extends Error {}

function quantOf(path: string): string | undefined {
  const name = path.split('/').pop()!.toUpperCase();
  return [...QUANT_PREFERENCE].sort((a, b) => b.length - a.length).find((q) => new RegExp(`(^|[^A-Z0-9])${q}([^A-Z0-9]|$)`).test(name.replace(/\.GGUF$/, '')));
}

/** A GGUF and, when it is the first part of a split one, its other parts in order. */
function withParts(files: RepoFile[], first: RepoFile): RepoFile[] {
  const split = parseSplitPartName(first.path);
  if (!split) return [first];
  const parts = files.filter((f) => {
    const p = parseSplitPartName(f.path);
    return p && p.prefix === split.prefix && p.count === split.count;
  });
  parts.sort((a, b) => parseSplitPartName(a.path)!.part - parseSplitPartName(b.path)!.part);
  if (parts.length !== split.count || parseSplitPartName(parts[0]!.path)!.part !== 1) throw new SelectionError(`${first.path} is part of a GGUF split into ${split.count}, but the repository holds ${parts.length} of its parts`);
  return parts;
}

function selectGGUF(ref: HubRef, files: RepoFile[]): Selection {
  // mmproj-* files are vision projectors that need a base model: never a model of their own.
  const ggufs = files.filter((f) => /\.gguf$/i.test(f.path) && !/(^|\/)mmproj/i.test(f.path) && (parseSplitPartName(f.path)?.part ?? 1) === 1);
  if (ref.file) {
    const f = files.find((x) => x.path === ref.file);
    if (!f) throw new SelectionError(`${ref.repo} has no file ${ref.file} at revision ${ref.revision} (GGUF files there: ${ggufs.map((g) => g.path).join(', ') || 'none'})`);
    const split = parseSplitPartName(f.path);
    if (split && split.part !== 1) throw new SelectionError(`${ref.file} is part ${split.part} of ${split.count}: name the first part`);
    return { format: 'gguf', files: withParts(files, f), base: '' };
  }
  const wanted = ref.variant?.toUpperCase();
  const byQuant = (q: string) => ggufs.filter((g) => quantOf(g.path) === q).sort((a, b) => a.path.length - b.path.length)[0];
  let chosen: RepoFile | undefined;
  if (wanted) {
    chosen = byQuant(wanted) ?? ggufs.find((g) => g.path.toUpperCase().includes(wanted));
    if (!chosen) throw new SelectionError(`${ref.repo} has no ${ref.variant} GGUF (it has: ${[...new Set(ggufs.map((g) => quantOf(g.path) ?? g.path))].join(', ')})`);
  } else {
    for (const q of QUANT_PREFERENCE) if ((chosen = byQuant(q))) break;
    chosen ??= ggufs.sort((a, b) => a.size - b.size)[0];
  }
  return { format: 'gguf', files: withParts(files, chosen!), base: '' };
}

function metadata(files: RepoFile[], dir = ''): RepoFile[] {
  return METADATA.flatMap((m) => files.filter((f) => f.path === `${dir}${m}`));
}

/**
 * `onnxFiles`: the onnx/ file names in the order the ort backend would take them on this device
 * (a variant asked for comes first).
 */
export function selectFiles(ref: HubRef, files: RepoFile[], onnxFiles: string[] = []): Selection {
  const dir = ref.file && !/\.\w+$/.test(ref.file) ? `${ref.file}/` : '';
  const inDir = dir ? files.filter((f) => f.path.startsWith(dir)) : files;
  if (dir && inDir.length === 0) throw new SelectionError(`${ref.repo} has no folder ${ref.file} at revision ${ref.revision}`);
  if (ref.file && !dir) return selectGGUF(ref, files);
  const names = new Set(inDir.map((f) => f.path));
  if (names.has(`${dir}model.safetensors`) || names.has(`${dir}model.safetensors.index.json`)) {
    const weights = inDir.filter((f) => f.path === `${dir}model.safetensors.index.json` || new RegExp(`^${dir}model(-\\d+-of-\\d+)?\\.safetensors$`).test(f.path));
    return { format: 'safetensors', files: [...metadata(inDir, dir), ...weights], base: dir };
  }
  const onnx = inDir.filter((f) => f.path.startsWith(`${dir}onnx/`) && f.path.endsWith('.onnx'));
  if (onnx.length) {
    const variant = ref.variant;
    const order = variant ? [variant === 'fp32' ? 'model.onnx' : `model_${variant}.onnx`, variant] : onnxFiles;
    const file = order.map((n) => onnx.find((f) => f.path === `${dir}onnx/${n}`)).find(Boolean) ?? (variant ? undefined : onnx.sort((a, b) => a.size - b.size)[0]);
    if (!file) throw new SelectionError(`${ref.repo} has no ONNX variant ${variant} (it has: ${onnx.map((f) => f.path.slice(dir.length + 5)).join(', ')})`);
    // External data: model_q4.onnx_data, model_q4.onnx_data_1, ...
    const data = inDir.filter((f) => f.path.startsWith(`${file.path}_data`));
    return { format: 'onnx', files: [...metadata(inDir, dir), file, ...data], base: dir };
  }
  if (inDir.some((f) => /\.gguf$/i.test(f.path))) return selectGGUF(ref, inDir);
  throw new SelectionError(`${ref.repo}${dir ? `/${ref.file}` : ''} at revision ${ref.revision} holds no model webinfer reads (a .gguf file, model.safetensors with config.json, or onnx/model*.onnx)`);
}
