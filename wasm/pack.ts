// Matrices laid out with their rows in fours (matmul.ts's packed Q4_0, Q5_0, Q4_K and Q6_K; the
// layouts are described there). Kernels.store copies a matrix in as the file stores it, row after
// row, then calls one of these: each group of four rows takes the same bytes in both layouts, so
// a group is copied to `scratch` (room for four rows) and written back packed, in place. Here
// rather than in JavaScript: a 1B model's matrices took ~10 s to pack there.

/**
 * Blocks of 32 with a float16 scale first and codes from byte `codes` (Q4_0, Q8_0): per block of
 * four rows, the four scales, then for k = 0 .. vectors - 1 each row's code bytes 4k .. 4k + 3.
 */
// @ts-ignore: decorator
@inline function packBlocks32(w: usize, rows: i32, cols: i32, scratch: usize, bytes: usize, codes: usize, vectors: usize): void {
  const nb = <usize>(cols >> 5), rowBytes = nb * bytes, group = 8 + 16 * vectors;
  for (let g = 0; g < rows; g += 4) {
    const base = w + <usize>g * rowBytes;
    memory.copy(scratch, base, 4 * rowBytes);
    let o = base;
    for (let b: usize = 0; b < nb; b++, o += group) {
      for (let r: usize = 0; r < 4; r++) {
        const src = scratch + r * rowBytes + b * bytes;
        store<u16>(o + 2 * r, load<u16>(src));
        for (let k: usize = 0; k < vectors; k++) store<u32>(o + 8 + 16 * k + 4 * r, load<u32>(src + codes + 4 * k));
      }
    }
  }
}

/** Q4_0 (18-byte blocks): the four scales, then for k = 0..3 each row's nibble bytes 4k .. 4k+3. */
export function pack_q4_0(w: usize, rows: i32, cols: i32, scratch: usize): void {
  packBlocks32(w, rows, cols, scratch, 18, 2, 4);
}

/** Q8_0 (34-byte blocks): the four scales, then for k = 0..7 each row's code bytes 4k .. 4k + 3. */
export function pack_q8_0(w: usize, rows: i32, cols: i32, scratch: usize): void {
  packBlocks32(w, rows, cols, scratch, 34, 2, 8);
}

/** Q5_0 (22-byte blocks): Q4_0's packing, then 16 bytes in which bit m of byte 4r + i is row r's high bit of weight 4m + i. */
export function pack_q5_0(w: usize, rows: i32, cols: i32, scratch: usize): void {
  const nb = <usize>(cols >> 5), rowBytes = nb * 22;
  for (let g = 0; g < rows; g += 4) {
    const base = w + <usize>g * rowBytes;
    memory.copy(scratch, base, 4 * rowBytes);
    let o = base;
    for (let b: usize = 0; b < nb; b++, o += 88) {
      for (let r: usize = 0; r < 4; r++) {
        const src = scratch + r * rowBytes + b * 22;
        store<u16>(o + 2 * r, load<u16>(src));
        for (let k: usize = 0; k < 4; k++) store<u32>(o + 8 + 16 * k + 4 * r, load<u32>(src + 6 + 4 * k));
        const qh = load<u32>(src + 2);
        for (let i: u32 = 0; i < 4; i++) {
          let h: u32 = 0;
          for (let m: u32 = 0; m < 8; m++) h |= ((qh >> (4 * m + i)) & 1) << m;
          store<u8>(o + 72 + 4 * r + i, <u8>h);
        }
      }
    }
  }
}

/**
 * Q4_K (144-byte super-blocks): four d, four dmin, the four rows' 12 scale bytes, then per pair j
 * of sub-blocks and k = 0..7 each row's nibble bytes 32j + 4k .. 32j + 4k + 3.
 */
export function pack_q4_k(w: usize, rows: i32, cols: i32, scratch: usize): void {
  const nb = <usize>(cols >> 8), rowBytes = nb * 144;
  for (let g = 0; g < rows; g += 4) {
    const base = w + <usize>g * rowBytes;
    memory.copy(scratch, base, 4 * rowBytes);
    let o = base;
    for (let b: usize = 0; b < nb; b++, o += 576) {
      for (let r: usize = 0; r < 4; r++) {
        const src = scratch + r * rowBytes + b * 144;
        store<u16>(o + 2 * r, load<u16>(src));
        store<u16>(o + 8 + 2 * r, load<u16>(src + 2));
        memory.copy(o + 16 + 12 * r, src + 4, 12);
        for (let j: usize = 0; j < 4; j++) for (let k: usize = 0; k < 8; k++) store<u32>(o + 64 + 128 * j + 16 * k + 4 * r, load<u32>(src + 16 + 32 * j + 4 * k));
      }
    }
  }
}

/**
 * Q6_K (210-byte super-blocks): four d; each row's 16 scales by sub-block (byte 8 + 4u + r); per
 * block of 32 weights c the codes' low four bits as Q4_0's nibbles (72 + 64c) and their high two
 * bits (584 + 32c: bits 2k, 2k+1 of byte 16h + 4r + i, code 16h + 4k + i). In the file (ggml's
 * dequantize_row_q6_K), weight 128n + 32g + l takes the low (g < 2) or high nibble of
 * ql[64n + 32(g & 1) + l] and bits 2g, 2g+1 of qh[32n + l]; scales at 192, d at 208.
 */
export function pack_q6_k(w: usize, rows: i32, cols: i32, scratch: usize): void {
  const nb = <usize>(cols >> 8), rowBytes = nb * 210;
  for (let g = 0; g < rows; g += 4) {
    const base = w + <usize>g * rowBytes;
    memory.copy(scratch, base, 4 * rowBytes);
    let o = base;
    for (let b: usize = 0; b < nb; b++, o += 840) {
      memory.fill(o, 0, 840);
      for (let r: usize = 0; r < 4; r++) {
        const src = scratch + r * rowBytes + b * 210;
        store<u16>(o + 2 * r, load<u16>(src + 208));
        for (let u: usize = 0; u < 16; u++) store<u8>(o + 8 + 4 * u + r, load<u8>(src + 192 + u));
        for (let n: usize = 0; n < 2; n++) {
          for (let q: usize = 0; q < 4; q++) {
            const c = 4 * n + q; // the block of 32: weights 128n + 32q ..
            for (let l: usize = 0; l < 32; l++) {
              const low = (<u32>load<u8>(src + 64 * n + 32 * (q & 1) + l) >> (4 * <u32>(q >> 1))) & 15;
              const high = (<u32>load<u8>(src + 128 + 32 * n + l) >> (2 * <u32>q)) & 3;
              const h = l >> 4, k = (l & 15) >> 2, i = l & 3;
              const nib = o + 72 + 64 * c + 16 * k + 4 * r + i;
              store<u8>(nib, load<u8>(nib) | <u8>(low << (4 * <u32>h)));
              const hb = o + 584 + 32 * c + 16 * h + 4 * r + i;
              store<u8>(hb, load<u8>(hb) | <u8>(high << (2 * <u32>k)));
            }
          }
        }
      }
    }
  }
}
