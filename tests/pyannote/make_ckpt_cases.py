"""Generates the checkpoints tests/unit/test_ckpt.c reads with the C reader
(src/ckpt), plus the expected values.

Usage: make_ckpt_cases.py OUTDIR          (the unit test's cases)
       make_ckpt_cases.py --seeds OUTDIR  (small fuzzing seeds)

Files written into OUTDIR:
  plain.pt        torch.save of an OrderedDict of float32 tensors
  lightning.ckpt  a pyannote-style Lightning checkpoint (checkpoint.py) whose
                  state dict mixes float32/float16/float64/bfloat16 tensors,
                  a transposed view, a slice with a storage offset, two views
                  of one storage, a 0-d scalar, a Parameter and an int64
                  BatchNorm counter
  proto4.pt       the plain dict pickled with protocol 4 (FRAME, MEMOIZE,
                  STACK_GLOBAL)
  deflate.ckpt    lightning.ckpt re-zipped with deflate (python zipfile)
  renamed.ckpt    lightning.ckpt with its top directory called pytorch_model/
  zip64.ckpt      lightning.ckpt re-written with zip64 end records and zip64
                  extra fields in every entry
  bad_*.pt        damaged or hostile files, each refused with a known error
                  (see BAD below: name, expected ckpt_err, message fragment)
  legacy.pt       the old non-zip torch.save format
  NAME.f32        for every float tensor of the good files: its values as
                  float32 in C order (torch's own conversion, which is exact
                  for float16/bfloat16 and round-to-nearest for float64)
  manifest.txt    one line per state-dict entry of lightning.ckpt, in order:
                  name dtype ndim d0 d1 ...
  bad.txt         one line per bad file: file code fragment
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checkpoint import save_checkpoint  # noqa: E402

# ckpt_err values (src/ckpt/ckpt.h)
FORMAT, UNSUPPORTED = 2, 3

DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
          torch.bfloat16: "bfloat16", torch.int64: "int64", torch.bool: "bool"}


def plain_state(gen):
    return collections.OrderedDict([
        ("conv.weight", torch.randn(4, 3, 5, generator=gen)),
        ("conv.bias", torch.randn(7, generator=gen)),
    ])


def lightning_state(gen):
    base = torch.randn(6, 5, generator=gen)
    shared = torch.randn(20, generator=gen)
    bn = torch.nn.BatchNorm1d(3)
    bn.num_batches_tracked += 41
    return collections.OrderedDict([
        ("sincnet.wav_norm1d.weight", torch.randn(1, generator=gen)),
        ("linear.0.weight", torch.randn(8, 12, generator=gen)),
        ("half", torch.randn(3, 7, generator=gen).half()),
        ("double", torch.randn(2, 3, 2, generator=gen).double()),
        ("bf16", torch.randn(9, generator=gen).bfloat16()),
        ("transposed", base.t()),                       # strides (1, 5)
        ("slice", base[2:5, 1:4]),                      # offset 11, strides (5, 1)
        ("shared.a", shared[:10].view(2, 5)),
        ("shared.b", shared[10:].view(5, 2)),
        ("scalar", torch.tensor(3.25)),
        ("param", torch.nn.Parameter(torch.randn(2, 2, generator=gen))),
        ("bn.num_batches_tracked", bn.num_batches_tracked),
        ("empty", torch.zeros(0, 3)),
        # zeros, subnormals, the largest finite, infinities: widening is exact
        ("half_special", torch.tensor([0.0, -0.0, 6e-8, 3e-5, 6.1e-5, 65504.0, -65504.0,
                                       float("inf"), float("-inf"), 1.0 / 3.0]).half()),
        ("bf16_special", torch.tensor([0.0, -0.0, 1e-40, 3.0e38, float("inf"),
                                       float("-inf"), 1.0 / 3.0]).bfloat16()),
        ("double_rounding", torch.tensor([1.0 / 3.0, 1e-310, 1e300, -1e300, 2.0 ** -149 * 1.5,
                                          0.1], dtype=torch.float64)),
        ("mask", torch.tensor([True, False, True])),
    ])


def write_raw(outdir, prefix, sd):
    for name, t in sd.items():
        if t.dtype.is_floating_point:
            data = t.detach().float().contiguous().numpy().tobytes()
            with open(os.path.join(outdir, prefix + name + ".f32"), "wb") as f:
                f.write(data)


def rezip(src, dst, compression=zipfile.ZIP_STORED, top=None, extra=None, drop=()):
    """Copies the members of src into dst, optionally renaming the top
    directory, adding members (extra: name -> bytes) or dropping some."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            rel = info.filename.split("/", 1)[1]
            if rel in drop:
                continue
            name = (top + "/" + rel) if top else info.filename
            zout.writestr(name, zin.read(info.filename), compress_type=compression)
        for name, data in (extra or {}).items():
            zout.writestr(name, data, compress_type=compression)


def write_zip64(src, dst):
    """Re-writes a stored archive with zip64 records: every central entry
    carries its sizes and offset in a zip64 extra field (the 32-bit fields
    set to 0xFFFFFFFF) and the end record points to a zip64 end record."""
    with zipfile.ZipFile(src) as zin:
        members = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    out = io.BytesIO()
    central = []
    for name, data in members:
        off = out.tell()
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0, crc,
                              0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra)))
        out.write(nb + extra + data)
        central.append((nb, crc, len(data), off))
    cd_off = out.tell()
    for nb, crc, size, off in central:
        extra = struct.pack("<HHQQQ", 1, 24, size, size, off)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0, crc,
                              0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra), 0, 0, 0, 0,
                              0xFFFFFFFF))
        out.write(nb + extra)
    cd_size = out.tell() - cd_off
    eocd64 = out.tell()
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(central),
                          len(central), cd_size, cd_off))
    out.write(struct.pack("<IIQI", 0x07064b50, 0, eocd64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                          0xFFFFFFFF, 0))
    with open(dst, "wb") as f:
        f.write(out.getvalue())


# ---- hand-made pickles for hostile cases -----------------------------------

class FakeStorage:
    """Pickled as the persistent id torch writes for a storage."""

    def __init__(self, cls, key, numel):
        self.pid = ("storage", cls, key, "cpu", numel)


class FakeTensor:
    """Pickled as a _rebuild_tensor_v2 call with arbitrary arguments."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return obj.pid
        if isinstance(obj, str) and obj == "@pid-not-storage":
            return ("module", "x")
        return None


def fake_pickle(obj, protocol=2):
    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def fake_zip(path, pkl, storages, top="archive", duplicate=None, extra_top=False, extra=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(top + "/data.pkl", pkl)
        for key, data in storages.items():
            z.writestr(top + "/data/" + key, data)
        z.writestr(top + "/version", b"3\n")
        if duplicate:
            z.writestr(top + "/" + duplicate, b"3\n")
        if extra_top:
            z.writestr("other/file", b"x")
        for rel, data in (extra or {}).items():
            z.writestr(top + "/" + rel, data)


def hostile_cases(outdir):
    fl = torch.FloatStorage
    ok4 = struct.pack("<4f", 1, 2, 3, 4)
    cases = []

    def add(name, code, fragment, pkl, storages=None, **kw):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fake_zip(os.path.join(outdir, name), pkl,
                     {"0": ok4} if storages is None else storages, **kw)
        cases.append((name, code, fragment))

    def tensor_dict(size, stride, offset=0, numel=4, cls=fl):
        st = FakeStorage(cls, "0", numel)
        return collections.OrderedDict(w=FakeTensor(st, offset, size, stride))

    add("bad_beyond.pt", FORMAT, "beyond its storage", fake_pickle(tensor_dict((5,), (1,))))
    add("bad_offset.pt", FORMAT, "beyond its storage",
        fake_pickle(tensor_dict((2, 2), (2, 1), offset=1)))
    add("bad_stride.pt", FORMAT, "non-negative", fake_pickle(tensor_dict((2,), (-1,))))
    add("bad_numel.pt", FORMAT, "expected 3 float32", fake_pickle(tensor_dict((3,), (1,), numel=3)))
    add("bad_missing_storage.pt", FORMAT, "is missing", fake_pickle(tensor_dict((4,), (1,))),
        storages={})
    add("bad_storage_type.pt", UNSUPPORTED, "torch.ComplexFloatStorage",
        fake_pickle(tensor_dict((2,), (1,), cls=torch.ComplexFloatStorage)))
    add("bad_pid.pt", UNSUPPORTED, "persistent id",
        fake_pickle({"w": "@pid-not-storage"}))
    add("bad_toplist.pt", UNSUPPORTED, "holds a list", fake_pickle([1, 2]))
    add("bad_dup_member.pt", FORMAT, "appears twice", fake_pickle(tensor_dict((4,), (1,))),
        duplicate="version")
    add("bad_two_tops.pt", FORMAT, "outside the top directory",
        fake_pickle(tensor_dict((4,), (1,))), extra_top=True)
    add("bad_byteorder.pt", UNSUPPORTED, "little-endian", fake_pickle(tensor_dict((4,), (1,))),
        extra={"byteorder": b"big"})
    # hand-written pickles with opcodes outside the subset
    add("bad_inst.pt", UNSUPPORTED, "opcode 0x69 ('i')", b"\x80\x02(ios\nsystem\n.")
    add("bad_obj.pt", UNSUPPORTED, "opcode 0x6f ('o')", b"\x80\x02(cos\nsystem\no.")
    add("bad_ext1.pt", UNSUPPORTED, "opcode 0x82", b"\x80\x02\x82\x01.")
    add("bad_proto.pt", UNSUPPORTED, "protocol 6", b"\x80\x06}.")
    add("bad_nostop.pt", FORMAT, "without STOP", b"\x80\x02}q\x00")
    add("bad_underflow.pt", FORMAT, "underflow", b"\x80\x02s.")
    add("bad_memo.pt", FORMAT, "memo entry 7", b"\x80\x02h\x07.")
    add("bad_bigint.pt", UNSUPPORTED, "integer of 9 bytes",
        b"\x80\x02\x8a\x09" + b"\x01" * 9 + b".")
    add("bad_memo_limit.pt", FORMAT, "memo index 2147483647", b"\x80\x02}r\xff\xff\xff\x7f.")
    add("bad_marks.pt", FORMAT, "MARKs nested deeper", b"\x80\x02" + b"(" * 5000 + b"}.")
    add("bad_crc.pt", FORMAT, "is damaged (CRC-32", fake_pickle(tensor_dict((4,), (1,))))
    corrupt_member(os.path.join(outdir, "bad_crc.pt"), "archive/data/0")
    return cases


def corrupt_member(path, name):
    """Flips one byte inside a stored member, leaving its CRC stale."""
    with zipfile.ZipFile(path) as z:
        off = z.getinfo(name).header_offset
    with open(path, "r+b") as f:
        f.seek(off + 26)
        nlen, xlen = struct.unpack("<HH", f.read(4))
        f.seek(off + 30 + nlen + xlen)
        b = f.read(1)
        f.seek(off + 30 + nlen + xlen)
        f.write(bytes([b[0] ^ 0x40]))


def write_seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    sd = collections.OrderedDict(a=torch.randn(2, 3, generator=gen),
                                 b=torch.arange(3, dtype=torch.int64),
                                 h=torch.randn(4, generator=gen).half(),
                                 t=torch.randn(3, 2, generator=gen).t())
    torch.save(sd, os.path.join(outdir, "plain.pt"))
    torch.save(sd, os.path.join(outdir, "proto4.pt"), pickle_protocol=4)
    save_checkpoint(os.path.join(outdir, "lightning.ckpt"),
                    collections.OrderedDict(w=torch.randn(2, 2, generator=gen)),
                    {"sample_rate": 16000, "num_channels": 1})
    rezip(os.path.join(outdir, "plain.pt"), os.path.join(outdir, "deflate.pt"),
          zipfile.ZIP_DEFLATED)
    write_zip64(os.path.join(outdir, "plain.pt"), os.path.join(outdir, "zip64.pt"))


def main(argv):
    if len(argv) == 2 and argv[0] == "--seeds":
        write_seeds(argv[1])
        return 0
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    outdir = argv[0]
    os.makedirs(outdir, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    plain = plain_state(gen)
    torch.save(plain, os.path.join(outdir, "plain.pt"))
    torch.save(plain, os.path.join(outdir, "proto4.pt"), pickle_protocol=4)
    write_raw(outdir, "plain.", plain)
    sd = lightning_state(gen)
    light = os.path.join(outdir, "lightning.ckpt")
    save_checkpoint(light, sd, {"sample_rate": 16000, "num_channels": 1,
                                "sincnet": {"stride": 10}})
    write_raw(outdir, "", sd)
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        for name, t in sd.items():
            f.write("%s %s %d %s\n" % (name, DTYPES[t.dtype], t.dim(),
                                       " ".join(str(d) for d in t.shape)))
    rezip(light, os.path.join(outdir, "deflate.ckpt"), zipfile.ZIP_DEFLATED)
    rezip(light, os.path.join(outdir, "renamed.ckpt"), top="pytorch_model")
    write_zip64(light, os.path.join(outdir, "zip64.ckpt"))
    torch.save(plain, os.path.join(outdir, "legacy.pt"), _use_new_zipfile_serialization=False)
    cases = hostile_cases(outdir)
    cases.append(("legacy.pt", UNSUPPORTED, "legacy"))
    with open(os.path.join(outdir, "bad.txt"), "w") as f:
        for name, code, fragment in cases:
            f.write("%s %d %s\n" % (name, code, fragment))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
