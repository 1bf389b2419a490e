// The paged KV cache as rope_store and the attention kernels see it (prepended to their files).
// A step packs the rows (tokens) of several sequences; the host writes `kv_meta` once per step:
//   kv_meta[2t]      the position of packed row t in its sequence
//   kv_meta[2t + 1]  where row t's block table starts in kv_meta (rows of a sequence share it)
//   then the block tables: table[i] is the cache block holding positions 16i .. 16i + 15.
// A cache buffer holds [block, 16 positions, kv_heads * head_dim]: position j of row t's
// sequence is cache row kv_row(t, j). Its elements are float32, or with KV_HALF float16 pairs
// packed in u32 words (half the bytes; unpack2x16float and pack2x16float are core WGSL, so no
// shader-f16 is needed). The buffers are array<u32> either way, float32 read through bitcast.

const KV_BLOCK = 16u;
override KV_HALF: bool = false;

// Element i of this layer's key (value) cache: k_cache and v_cache are declared by each file
// this one is prepended to.
fn k_at(i: u32) -> f32 {
  if (KV_HALF) { return unpack2x16float(k_cache[i / 2u])[i % 2u]; }
  return bitcast<f32>(k_cache[i]);
}
fn v_at(i: u32) -> f32 {
  if (KV_HALF) { return unpack2x16float(v_cache[i / 2u])[i % 2u]; }
  return bitcast<f32>(v_cache[i]);
}

/** Two cache elements as one word: float16 values beyond its range would be undefined, so clamped. */
fn kv_pack(v: vec2f) -> u32 {
  return pack2x16float(clamp(v, vec2f(-65504.0), vec2f(65504.0)));
}

@group(0) @binding(15) var<storage, read> kv_meta: array<u32>;

fn row_pos(t: u32) -> u32 {
  return kv_meta[2u * t];
}

fn kv_row(t: u32, j: u32) -> u32 {
  return kv_meta[kv_meta[2u * t + 1u] + j / KV_BLOCK] * KV_BLOCK + j % KV_BLOCK;
}

var<workgroup> wg_row_pos: u32;

/**
 * row_pos(t) as a uniform value, for kernels whose barriers it decides (t must be the same in
 * every thread of the workgroup). The first barrier keeps this call's write from racing a
 * previous call's reads.
 */
fn row_pos_uniform(t: u32) -> u32 {
  workgroupBarrier();
  wg_row_pos = row_pos(t);
  return workgroupUniformLoad(&wg_row_pos);
}
