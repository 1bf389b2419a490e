// matvec_wide with subgroup reductions (appended after matvec_wide.wgsl; the module starts with
// `enable subgroups;`, so it is built only on devices with the subgroups feature and the
// subgroup_id builtin). Threads are numbered by subgroup (subgroup_id * subgroup_size + lane),
// not by local_invocation_index, so that a row group's WL lanes are whole subgroups or aligned
// parts of one whatever the subgroup size (4 on SwiftShader, 32 on NVIDIA, 64 on AMD): a
// butterfly of shuffles then sums each aligned run of min(WL, subgroup size) lanes without
// workgroup memory, and only subgroups smaller than WL combine their runs through it (one barrier).

@compute @workgroup_size(256)
fn matvec_wide_sg(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32,
                  @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_id) sgid: u32) {
  let t = wg.z;
  if (t >= token_count()) { return; }
  let row0 = (wg.x + wg.y * nwg.x) * WROWS;
  let xoff = p.x_off + t * p.K;
  if (INPUT != 0u) { wide_prologue(lid, xoff); }
  let lane = sgid * sgs + sgi;
  let row = row0 + (lane / WL) * 2u;
  var acc = wide_dot(lane % WL, row, xoff / 4u);
  // A constant trip count keeps the shuffles in uniform control flow; steps at or past the
  // subgroup size would cross subgroups and are dropped.
  for (var o = 1u; o < WL; o <<= 1u) {
    let other = subgroupShuffleXor(acc, o);
    acc = select(acc, acc + other, o < sgs);
  }
  let run = min(WL, sgs); // lanes whose sum each lane now holds
  if (lane % run == 0u) {
    wred[lane / run] = acc.x;
    wred[256u + lane / run] = acc.y;
  }
  workgroupBarrier();
  if (lane % WL == 0u) {
    var s = vec2f(0.0);
    for (var i = lane / run; i < (lane + WL) / run; i++) { s += vec2f(wred[i], wred[256u + i]); }
    wide_store(t, row, s);
  }
}

// matvec_wide_tokens (matvec_wide.wgsl) with subgroup reductions, numbered the same way.
@compute @workgroup_size(256)
fn matvec_wide_tokens_sg(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32, @builtin(subgroup_id) sgid: u32) {
  let T = token_count();
  let t0 = wg.z * TW;
  if (t0 >= T) { return; }
  let row0 = (wg.x + wg.y * nwg.x) * WROWS;
  let lane = sgid * sgs + sgi;
  let row = row0 + (lane / WL) * 2u;
  var acc = wide_tokens_dot(lane % WL, row, t0, T);
  for (var o = 1u; o < WL; o <<= 1u) {
    for (var i = 0u; i < TW; i++) {
      let other = subgroupShuffleXor(acc[i], o);
      acc[i] = select(acc[i], acc[i] + other, o < sgs);
    }
  }
  let run = min(WL, sgs);
  if (lane % run == 0u) {
    for (var i = 0u; i < TW; i++) {
      wredt[(2u * i) * 256u + lane / run] = acc[i].x;
      wredt[(2u * i + 1u) * 256u + lane / run] = acc[i].y;
    }
  }
  workgroupBarrier();
  let j = lane % WL;
  if (j < 2u * TW) {
    let first = lane - j; // the group's first lane
    var s = 0.0;
    for (var i = first / run; i < (first + WL) / run; i++) { s += wredt[j * 256u + i]; }
    wide_tokens_store(t0, T, row, j, s);
  }
}
