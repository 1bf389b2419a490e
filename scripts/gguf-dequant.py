"""Dequantises every tensor of GGUF files with llama.cpp's own gguf-py (gguf.quants.dequantize) and
prints, per file and tensor, its ggml type name and the sha256 of the float32 values in row-major
order, as JSON. The tests compare webinfer's dequantisation with these, bit for bit.

    python3 scripts/gguf-dequant.py <gguf-py folder> file.gguf [...]
"""
import hashlib
import json
import sys

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
from gguf import GGUFReader  # noqa: E402
from gguf.quants import dequantize  # noqa: E402

out = {}
for path in sys.argv[2:]:
    tensors = {}
    for t in GGUFReader(path).tensors:
        values = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        tensors[t.name] = {"type": t.tensor_type.name, "sha256": hashlib.sha256(values.tobytes()).hexdigest()}
    out[path] = tensors
json.dump(out, sys.stdout)
