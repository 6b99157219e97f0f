# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A reader of gzip'ed pprof profiles (profile.proto), enough for the tests
to compare samples: sample types, period, and every sample's values,
labels and frames (function, line; inlined frames expanded, innermost
first). Written from the proto definition (github.com/google/pprof,
proto/profile.proto); no dependency."""
import gzip


def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def _fields(b):
    """(field number, wire type, value) of a message: ints for varints, bytes for the rest."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield f, wt, v


def _ints(wt, v):
    """A repeated integer field: packed (bytes) or one varint."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def _signed(x):
    return x - (1 << 64) if x >= 1 << 63 else x


class Profile:
    def __init__(self, sample_types, period_type, period, samples, default_type):
        self.sample_types = sample_types    # [(type, unit)]
        self.period_type = period_type      # (type, unit)
        self.period = period
        self.samples = samples              # [{"values": [...], "frames": [(func, line)], "labels": {}}]
        self.default_type = default_type


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, raw_samples, locs, funcs = [], [], {}, {}
    sample_types, period_type, period, default_type = [], (0, 0), 0, 0
    for f, wt, v in _fields(data):
        if f == 1:
            vt = dict((ff, vv) for ff, _, vv in _fields(v))
            sample_types.append((vt.get(1, 0), vt.get(2, 0)))
        elif f == 2:
            raw_samples.append(v)
        elif f == 4:
            loc = {"id": 0, "lines": []}
            for ff, wwt, vv in _fields(v):
                if ff == 1:
                    loc["id"] = vv
                elif ff == 4:
                    ln = dict((a, c) for a, _, c in _fields(vv))
                    loc["lines"].append((ln.get(1, 0), _signed(ln.get(2, 0))))
            locs[loc["id"]] = loc
        elif f == 5:
            fn = dict((ff, vv) for ff, _, vv in _fields(v))
            funcs[fn.get(1, 0)] = fn.get(2, 0)
        elif f == 6:
            strings.append(v.decode())
        elif f == 11:
            vt = dict((ff, vv) for ff, _, vv in _fields(v))
            period_type = (vt.get(1, 0), vt.get(2, 0))
        elif f == 12:
            period = _signed(v)
        elif f == 14:
            default_type = v
    s = lambda k: strings[k] if 0 <= k < len(strings) else ""
    samples = []
    for raw in raw_samples:
        ids, values, labels = [], [], {}
        for f, wt, v in _fields(raw):
            if f == 1:
                ids += _ints(wt, v)
            elif f == 2:
                values += [_signed(x) for x in _ints(wt, v)]
            elif f == 3:
                lb = dict((a, c) for a, _, c in _fields(v))
                labels[s(lb.get(1, 0))] = s(lb[2]) if lb.get(2) else lb.get(3, 0)
        frames = []
        for i in ids:
            # a location's lines: the innermost (inlined) first, as the proto lists them
            for fid, line in locs.get(i, {"lines": []})["lines"]:
                frames.append((s(funcs.get(fid, 0)), line))
        samples.append({"values": values, "frames": frames, "labels": labels})
    return Profile([(s(a), s(b)) for a, b in sample_types], (s(period_type[0]), s(period_type[1])),
                   period, samples, s(default_type))
