"""NumPy encoders and decoders for the ggml tensor types Whisper files use
(f32, f16 and the v2 block formats q4_0, q4_1, q5_0, q5_1, q8_0).

Shared by make_model.py (encode) and reference.py (decode) so that the two
always agree; the C loader is checked against decode(). Every block holds 32
elements; all integers little-endian. Encoders follow ggml's reference
quantizers (scale from the signed value of largest magnitude for the
symmetric types, from min/max for the _1 types, float32 arithmetic,
truncating float-to-int conversions) so files look like real ones.
"""
import numpy as np

F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = 0, 1, 2, 3, 6, 7, 8
QK = 32

NAMES = {F32: "f32", F16: "f16", Q4_0: "q4_0", Q4_1: "q4_1",
         Q5_0: "q5_0", Q5_1: "q5_1", Q8_0: "q8_0"}
TYPES = {v: k for k, v in NAMES.items()}

# Bytes per block of 32 elements. Layouts (f16 = IEEE half):
#   q4_0: d f16, qs[16]            x = (q - 8) * d
#   q4_1: d f16, m f16, qs[16]     x = q * d + m
#   q5_0: d f16, qh u32, qs[16]    x = (q - 16) * d
#   q5_1: d f16, m f16, qh u32, qs[16]   x = q * d + m
#   q8_0: d f16, qs int8[32]       x = q * d
# qs[j] holds element j in its low nibble and element j + 16 in its high
# nibble; bit j of qh is bit 4 of element j.
BLOCK_BYTES = {Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24, Q8_0: 34}


def nbytes(ttype, n):
    """Bytes n elements of ttype occupy."""
    if ttype == F32:
        return 4 * n
    if ttype == F16:
        return 2 * n
    if ttype not in BLOCK_BYTES:
        raise ValueError("unknown tensor type %r" % ttype)
    if n % QK:
        raise ValueError("%d elements is not a multiple of %d" % (n, QK))
    return n // QK * BLOCK_BYTES[ttype]


def _blocks(x):
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, QK)
    return x


def _signed_absmax(b):
    # the value (with its sign) of largest magnitude; first one on ties, as ggml
    idx = np.argmax(np.abs(b), axis=1)
    return b[np.arange(b.shape[0]), idx]


def _trunc_u8(v):
    # C's (int8_t)(float) then uint8: truncation toward zero
    return np.trunc(v).astype(np.int32)


def _inv(d):
    with np.errstate(divide="ignore"):
        return np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)


def _pack_nibbles(q):
    # element j in the low nibble of byte j, element j+16 in the high nibble
    q = q.astype(np.uint8)
    return (q[:, :16] & 0xF) | ((q[:, 16:] & 0xF) << 4)


def _pack_high_bits(q):
    # bit j of the little-endian uint32 = bit 4 of element j
    bits = ((q.astype(np.uint32) >> 4) & 1) << np.arange(32, dtype=np.uint32)
    qh = np.bitwise_or.reduce(bits, axis=1).astype("<u4")
    return qh.view(np.uint8).reshape(-1, 4)


def _f16_bytes(v):
    return v.astype("<f2").view(np.uint8).reshape(-1, 2)


def encode(x, ttype):
    """Returns the bytes of x (any shape, C order; size a multiple of 32 for
    block types) stored as ttype."""
    if ttype == F32:
        return np.ascontiguousarray(x, dtype="<f4").tobytes()
    if ttype == F16:
        return np.ascontiguousarray(x, dtype=np.float32).astype("<f2").tobytes()
    b = _blocks(x)
    if ttype in (Q4_0, Q5_0):
        half = 8 if ttype == Q4_0 else 16
        d = (_signed_absmax(b) / np.float32(-half)).astype(np.float32)
        idv = _inv(d)
        q = np.minimum(2 * half - 1, _trunc_u8(b * idv[:, None] + np.float32(half + 0.5)))
        parts = [_f16_bytes(d)]
        if ttype == Q5_0:
            parts.append(_pack_high_bits(q))
        parts.append(_pack_nibbles(q))
    elif ttype in (Q4_1, Q5_1):
        top = 15 if ttype == Q4_1 else 31
        mn = b.min(axis=1)
        mx = b.max(axis=1)
        d = ((mx - mn) / np.float32(top)).astype(np.float32)
        idv = _inv(d)
        q = np.clip(_trunc_u8((b - mn[:, None]) * idv[:, None] + np.float32(0.5)), 0, top)
        parts = [_f16_bytes(d), _f16_bytes(mn)]
        if ttype == Q5_1:
            parts.append(_pack_high_bits(q))
        parts.append(_pack_nibbles(q))
    elif ttype == Q8_0:
        d = (np.abs(b).max(axis=1) / np.float32(127)).astype(np.float32)
        idv = _inv(d)
        v = (b * idv[:, None]).astype(np.float64)
        # roundf: halves away from zero (np.round would round them to even)
        q = np.clip(np.trunc(v + np.copysign(0.5, v)), -127, 127).astype(np.int8)
        parts = [_f16_bytes(d), q.view(np.uint8)]
    else:
        raise ValueError("unknown tensor type %r" % ttype)
    return np.concatenate(parts, axis=1).tobytes()


def _unpack_nibbles(qs):
    lo = qs & 0xF
    hi = qs >> 4
    return np.concatenate([lo, hi], axis=1).astype(np.int32)


def _unpack_high_bits(qh):
    word = qh.copy().view("<u4").reshape(-1, 1)
    return ((word >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int32)


def _f16(col):
    return col.copy().view("<f2").reshape(-1).astype(np.float64)


def decode(raw, ttype, n):
    """Returns the n values stored in raw (bytes) as ttype, as float64."""
    buf = np.frombuffer(raw, dtype=np.uint8, count=nbytes(ttype, n))
    if ttype == F32:
        return buf.view("<f4").astype(np.float64)
    if ttype == F16:
        return buf.view("<f2").astype(np.float64)
    b = buf.reshape(-1, BLOCK_BYTES[ttype])
    d = _f16(b[:, 0:2])
    if ttype == Q4_0:
        v = (_unpack_nibbles(b[:, 2:18]) - 8) * d[:, None]
    elif ttype == Q4_1:
        v = _unpack_nibbles(b[:, 4:20]) * d[:, None] + _f16(b[:, 2:4])[:, None]
    elif ttype == Q5_0:
        q = _unpack_nibbles(b[:, 6:22]) | (_unpack_high_bits(b[:, 2:6]) << 4)
        v = (q - 16) * d[:, None]
    elif ttype == Q5_1:
        q = _unpack_nibbles(b[:, 8:24]) | (_unpack_high_bits(b[:, 4:8]) << 4)
        v = q * d[:, None] + _f16(b[:, 2:4])[:, None]
    elif ttype == Q8_0:
        v = b[:, 2:34].copy().view(np.int8).astype(np.float64) * d[:, None]
    else:
        raise ValueError("unknown tensor type %r" % ttype)
    return v.reshape(-1)
