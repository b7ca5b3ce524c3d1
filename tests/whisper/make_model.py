#!/usr/bin/python3
"""Builds a complete Whisper model file in the ggml format with random
weights, for tests and benchmarks (no real weights can be downloaded here).

Usage:
  /usr/bin/python3 tests/whisper/make_model.py --header HEADER.bin --out OUT.bin \
      --dims DIMS --ftype TYPE --seed N

  HEADER.bin  a header-only ggml Whisper file (../shared/models/whisper/
              for-tests-ggml-tiny.en.bin or for-tests-ggml-base.bin); its
              n_vocab, n_audio_ctx, n_text_ctx, n_mels, mel filters and
              vocabulary bytes are kept exactly.
  DIMS        test (S=T=64, 2 heads, 2+2 layers; for fast tests),
              tiny / tiny.en (384, 6 heads, 4+4), base (512, 8, 6+6),
              small (768, 12, 12+12), medium (1024, 16, 24+24), large
              (1280, 20, 32+32), large-v3-turbo (1280, 20, 32+4), or
              custom:S,H,LE,LD (state, heads, encoder layers, decoder
              layers; S even and a multiple of H).
  TYPE        f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1. ftype field 0, 1 or
              2000 + ggml type. f16: 2-D weights and conv weights f16.
              Quantized: 2-D weights whose rows are a multiple of 32 long
              (token embedding included) quantized, conv weights f16,
              everything else (biases, layer norms, positional embeddings) f32.
  N           seed; the same seed and arguments give the same bytes.
Options for loader tests of other model families (not Whisper's exact data):
  --n-mels M  replace the mel filter bank by M triangular filters (e.g. 128,
              as large-v3 files have); conv1 then takes M channels.
  --n-vocab V override n_vocab (e.g. 51866 = large-v3's 100 languages); the
              stored text vocabulary stays as in HEADER.

Weights are random but keep activations sane: matrices normal(0,
1/sqrt(fan_in)), layer-norm gains near 1, small biases, Whisper's sinusoidal
encoder positions, a random decoder positional embedding. The scales below
(DEC_POS_STD ...) make greedy decoding emit varied, audio-dependent tokens and
some timestamps rather than eot at once or one token repeated.
Exit status 0 on success, 2 on bad arguments or a bad header file.
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_quant as gq  # noqa: E402

MAGIC = 0x67676D6C
# Scales chosen by trying greedy decoding on different audio with the test
# dims: a large decoder positional embedding and a weaker tie between the
# input token and the tied output projection stop the decoder repeating one
# token; a sharper, stronger cross-attention makes the tokens depend on the
# audio (so a broken encoder or cross-attention changes the decoded ids).
DEC_POS_STD = 3.0     # decoder positional embedding, per element
TOK_EMB_STD = 2.0     # token embedding std * sqrt(T): logits of std ~2
CROSS_Q_GAIN = 3.0    # cross-attention query weights, x 1/sqrt(fan_in)
# cross-attention output projection, x 1/sqrt(fan_in), for 2 decoder layers;
# divided by sqrt(layers / 2) with more layers, since the layers' (mostly
# position-independent) outputs add up and would otherwise swamp the
# position-dependent part, making every step emit the same token
CROSS_OUT_GAIN = 4.0

DIMS = {
    "test": (64, 2, 2, 2),
    "tiny": (384, 6, 4, 4),
    "tiny.en": (384, 6, 4, 4),
    "base": (512, 8, 6, 6),
    "base.en": (512, 8, 6, 6),
    "small": (768, 12, 12, 12),
    "medium": (1024, 16, 24, 24),
    "large": (1280, 20, 32, 32),
    "large-v3-turbo": (1280, 20, 32, 4),
}


def parse_dims(text):
    if text in DIMS:
        return DIMS[text]
    if text.startswith("custom:"):
        parts = text[len("custom:"):].split(",")
        if len(parts) == 4 and all(p.strip().isdigit() for p in parts):
            s, h, le, ld = (int(p) for p in parts)
            if s >= 4 and s % 2 == 0 and h > 0 and s % h == 0 and le > 0 and ld > 0:
                return s, h, le, ld
    raise ValueError("--dims %r: expected one of %s or custom:S,H,LE,LD with S even and a "
                     "multiple of H" % (text, ", ".join(DIMS)))


def read_header(path):
    """Returns (hparams list of 11 ints, bytes of mel filters + vocabulary)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 48 or struct.unpack_from("<I", data, 0)[0] != MAGIC:
        raise ValueError("%s: not a ggml Whisper file (bad magic)" % path)
    hp = list(struct.unpack_from("<11i", data, 4))
    off = 48
    n_mel, n_fft = struct.unpack_from("<2i", data, off)
    off += 8 + 4 * n_mel * n_fft
    (n_tok,) = struct.unpack_from("<i", data, off)
    off += 4
    for i in range(n_tok):
        if off + 4 > len(data):
            raise ValueError("%s: vocabulary truncated at token %d" % (path, i))
        (ln,) = struct.unpack_from("<i", data, off)
        off += 4 + ln
    if off > len(data):
        raise ValueError("%s: vocabulary truncated" % path)
    return hp, data[48:off]


def mel_filters(n_mels, n_fft_bins=201, sample_rate=16000):
    """Triangular filters evenly spaced on the HTK mel scale from 0 to the
    Nyquist frequency, for --n-mels (the header's own bank has 80 rows; a
    test of 128-mel files needs some bank, not Whisper's exact one)."""
    def to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def to_hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = to_hz(np.linspace(0.0, to_mel(sample_rate / 2.0), n_mels + 2))
    freqs = np.linspace(0.0, sample_rate / 2.0, n_fft_bins)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    tri = np.maximum(0.0, np.minimum(up, down))
    return (tri * (2.0 / (hi - lo))).astype(np.float32)  # equal area, like Slaney's norm


def sinusoids(length, channels):
    # Whisper's encoder positions: sin of the first half of the channels, cos
    # of the second, timescales geometric from 1 to 10000
    half = channels // 2
    inc = np.log(10000.0) / (half - 1)
    inv = np.exp(-inc * np.arange(half))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1).astype(np.float32)


class Writer:
    def __init__(self, f, wtype, rng):
        self.f = f
        self.wtype = wtype
        self.rng = rng

    def normal(self, shape, std, mean=0.0):
        x = self.rng.standard_normal(size=shape, dtype=np.float32)
        x *= np.float32(std)
        if mean:
            x += np.float32(mean)
        return x

    def tensor(self, name, arr, ttype):
        # arr has PyTorch's shape (slowest first); the file wants fastest first
        ne = list(reversed(arr.shape))
        raw = gq.encode(arr, ttype)
        nb = name.encode()
        self.f.write(struct.pack("<3i", len(ne), len(nb), ttype))
        self.f.write(struct.pack("<%di" % len(ne), *ne))
        self.f.write(nb)
        self.f.write(raw)

    def matrix(self, name, arr):
        """A 2-D weight: f16 or quantized per the file type."""
        t = self.wtype
        if t not in (gq.F32, gq.F16) and arr.shape[-1] % gq.QK:
            t = gq.F16
        self.tensor(name, arr, t)

    def conv(self, name, arr):
        self.tensor(name, arr, gq.F32 if self.wtype == gq.F32 else gq.F16)

    def plain(self, name, arr):
        self.tensor(name, arr, gq.F32)

    def linear(self, prefix, n_in, n_out, bias=True, gain=1.0):
        self.matrix(prefix + ".weight", self.normal((n_out, n_in), gain / np.sqrt(n_in)))
        if bias:
            self.plain(prefix + ".bias", self.normal((n_out,), 0.02))

    def layer_norm(self, prefix, n):
        self.plain(prefix + ".weight", self.normal((n,), 0.1, mean=1.0))
        self.plain(prefix + ".bias", self.normal((n,), 0.02))

    def attention(self, prefix, n, q_gain=1.0, out_gain=1.0):
        self.linear(prefix + ".query", n, n, gain=q_gain)
        self.linear(prefix + ".key", n, n, bias=False)
        self.linear(prefix + ".value", n, n)
        self.linear(prefix + ".out", n, n, gain=out_gain)

    def block(self, prefix, n, cross, n_layers=2):
        self.layer_norm(prefix + ".attn_ln", n)
        self.attention(prefix + ".attn", n)
        if cross:
            self.layer_norm(prefix + ".cross_attn_ln", n)
            # sharper cross-attention so that the decoded tokens depend on the audio
            self.attention(prefix + ".cross_attn", n, q_gain=CROSS_Q_GAIN,
                           out_gain=CROSS_OUT_GAIN / np.sqrt(n_layers / 2.0))
        self.layer_norm(prefix + ".mlp_ln", n)
        self.linear(prefix + ".mlp.0", n, 4 * n)
        self.linear(prefix + ".mlp.2", 4 * n, n)


def write_model(args):
    hp, tail = read_header(args.header)
    s, h, le, ld = parse_dims(args.dims)
    if args.ftype not in gq.TYPES:
        raise ValueError("--ftype %r: expected one of %s" % (args.ftype, ", ".join(gq.TYPES)))
    wtype = gq.TYPES[args.ftype]
    n_vocab, n_audio_ctx, n_text_ctx, n_mels = hp[0], hp[1], hp[5], hp[9]
    if args.n_mels is not None:
        if not 1 <= args.n_mels <= 512:
            raise ValueError("--n-mels %d: expected 1..512" % args.n_mels)
        n_mels = args.n_mels
        n_fft = struct.unpack_from("<i", tail, 4)[0]
        tail = (struct.pack("<2i", n_mels, n_fft) + mel_filters(n_mels, n_fft).tobytes()
                + tail[8 + 4 * hp[9] * n_fft:])
    if args.n_vocab is not None:
        n_fft = struct.unpack_from("<i", tail, 4)[0]
        n_text = struct.unpack_from("<i", tail, 8 + 4 * n_mels * n_fft)[0]
        if not n_text + 1 <= args.n_vocab <= n_text + 1700:
            raise ValueError("--n-vocab %d: expected %d..%d for %d stored tokens"
                             % (args.n_vocab, n_text + 1, n_text + 1700, n_text))
        n_vocab = args.n_vocab
    ftype = wtype if wtype in (gq.F32, gq.F16) else 2000 + wtype
    hp_out = [n_vocab, n_audio_ctx, s, h, le, n_text_ctx, s, h, ld, n_mels, ftype]

    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".tmp"
    try:
        write_tensors(tmp, hp_out, tail, wtype, rng)
        os.replace(tmp, args.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_tensors(path, hp_out, tail, wtype, rng):
    n_vocab, n_audio_ctx, s, _, le, n_text_ctx, _, _, ld, n_mels, _ = hp_out
    with open(path, "wb") as f:
        f.write(struct.pack("<I11i", MAGIC, *hp_out))
        f.write(tail)
        w = Writer(f, wtype, rng)
        # encoder
        w.plain("encoder.positional_embedding", sinusoids(n_audio_ctx, s))
        w.conv("encoder.conv1.weight", w.normal((s, n_mels, 3), 1.0 / np.sqrt(3 * n_mels)))
        w.plain("encoder.conv1.bias", w.normal((s, 1), 0.02))
        w.conv("encoder.conv2.weight", w.normal((s, s, 3), 1.0 / np.sqrt(3 * s)))
        w.plain("encoder.conv2.bias", w.normal((s, 1), 0.02))
        for i in range(le):
            w.block("encoder.blocks.%d" % i, s, cross=False)
        w.layer_norm("encoder.ln_post", s)
        # decoder
        w.plain("decoder.positional_embedding", w.normal((n_text_ctx, s), DEC_POS_STD))
        w.matrix("decoder.token_embedding.weight", w.normal((n_vocab, s), TOK_EMB_STD / np.sqrt(s)))
        for i in range(ld):
            w.block("decoder.blocks.%d" % i, s, cross=True, n_layers=ld)
        w.layer_norm("decoder.ln", s)


def main(argv):
    ap = argparse.ArgumentParser(description="random-weight ggml Whisper model generator")
    ap.add_argument("--header", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dims", default="test")
    ap.add_argument("--ftype", default="f32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-mels", type=int)
    ap.add_argument("--n-vocab", type=int)
    args = ap.parse_args(argv)
    try:
        write_model(args)
    except (ValueError, OSError, struct.error) as e:
        print("make_model.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
