"""Float32 safetensors files for NumPy, as the scripts and tests that drive `moncim mvm` use them:
st_write(path, {name: array}) and st_read(path) -> {name: float32 array, "__metadata__": dict}."""
import json
import struct

import numpy as np


def st_write(path, tensors):
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def st_read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {"__metadata__": header.get("__metadata__", {})}
    for name, d in header.items():
        if name != "__metadata__":
            a, b = d["data_offsets"]
            out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(d["shape"])
    return out
