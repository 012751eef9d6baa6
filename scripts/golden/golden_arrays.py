"""Writes named float32/int64 arrays as <name>.json (manifest) + <name>.bin (raw little-endian).

The C++ tests read the same pair with tests/support/golden_arrays.h.
"""
import json

import numpy as np


class GoldenWriter:
    def __init__(self, description):
        self.description = description
        self.entries = []
        self.blobs = []
        self.offset = 0
        self.scalars = {}

    def add(self, name, array, dtype=np.float32):
        data = np.ascontiguousarray(np.asarray(array, dtype=dtype))
        blob = data.astype(data.dtype.newbyteorder("<")).tobytes()
        self.entries.append({"name": name, "dtype": np.dtype(dtype).name,
                             "shape": list(data.shape), "offset": self.offset,
                             "bytes": len(blob)})
        self.blobs.append(blob)
        self.offset += len(blob)

    def add_scalar(self, name, value):
        self.scalars[name] = value

    def save(self, stem):
        with open(stem + ".bin", "wb") as out:
            for blob in self.blobs:
                out.write(blob)
        with open(stem + ".json", "w") as out:
            json.dump({"description": self.description, "arrays": self.entries,
                       "scalars": self.scalars}, out, indent=1)
