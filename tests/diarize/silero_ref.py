#!/usr/bin/env python3
"""NumPy reference of Silero VAD v6.2 (16 kHz), for checking the C version.

    silero_ref.py [--model PATH] WAV

reads WAV (16 kHz, mono, 16-bit PCM) and prints one speech probability per
512-sample chunk, one per line, with 9 significant digits. A last partial
chunk is padded with zeros, so a file of n samples gives ceil(n / 512) lines.

This is written separately from src/vad/silero.c on purpose: it has its
own parser of the ggml container and computes the network the plain way
(the STFT as a product with the stored basis, no FFT; convolutions by
gathering their input windows), in float64, so that it shares no shortcut
with the C code and its own rounding error is far below the 1e-4 the unit
test allows.

Needs NumPy (Debian: python3-numpy, see scripts/install-deps.sh).
"""

import argparse
import struct
import sys
import wave

import numpy as np

DEFAULT_MODEL = "/work/shared/models/vad/silero-v6.2.0-ggml.bin"
MAGIC = 0x67676D6C
CHUNK = 512
CONTEXT = 64
STRIDES = (1, 2, 2, 1)


def load_model(path):
    """Returns {tensor name: float64 array in PyTorch's index order}."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def ints(n):
        nonlocal pos
        if pos + 4 * n > len(data):
            raise ValueError(f"{path}: truncated")
        vals = struct.unpack_from(f"<{n}i", data, pos)
        pos += 4 * n
        return vals

    (magic,) = struct.unpack_from("<I", data, 0)
    pos = 4
    if magic != MAGIC:
        raise ValueError(f"{path}: bad magic {magic:#x}")
    (name_len,) = ints(1)
    pos += name_len
    version = ints(3)
    window, context, n_layers = ints(3)
    if version[:2] != (6, 2) or window != CHUNK or context != CONTEXT or n_layers != 4:
        raise ValueError(f"{path}: unexpected header {version} {window} {context} {n_layers}")
    ints(3 * n_layers + 4)  # layer shapes and LSTM sizes; the tensors carry them too

    tensors = {}
    while pos < len(data):
        n_dims, name_len, ttype = ints(3)
        dims = ints(n_dims)
        name = data[pos:pos + name_len].decode()
        pos += name_len
        count = int(np.prod(dims)) if n_dims else 1
        dtype = {0: "<f4", 1: "<f2"}[ttype]
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=pos)
        pos += arr.nbytes
        # ggml lists sizes fastest-varying first; NumPy wants slowest first.
        tensors[name] = arr.astype(np.float64).reshape(tuple(reversed(dims)))
    return tensors


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2 or w.getframerate() != 16000:
            raise ValueError(f"{path}: need 16 kHz mono 16-bit PCM")
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def conv1d(x, weight, bias, stride):
    """x [in, L], weight [out, in, 3], zero padding 1 -> [out, L_out]."""
    xp = np.pad(x, ((0, 0), (1, 1)))
    l_out = (x.shape[1] + 2 - 3) // stride + 1
    # windows[t, i, k] = xp[i, stride * t + k]
    idx = stride * np.arange(l_out)[:, None] + np.arange(3)[None, :]
    windows = xp[:, idx].transpose(1, 0, 2)
    return np.einsum("oik,tik->ot", weight, windows) + bias[:, None]


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


class Silero:
    def __init__(self, t):
        self.basis = t["_model.stft.forward_basis_buffer"][:, 0, :]  # [258, 256]
        self.enc = [(t[f"_model.encoder.{i}.reparam_conv.weight"],
                     t[f"_model.encoder.{i}.reparam_conv.bias"]) for i in range(4)]
        self.w_ih = t["_model.decoder.rnn.weight_ih"]  # [512, 128], gates i f g o
        self.w_hh = t["_model.decoder.rnn.weight_hh"]
        self.b = t["_model.decoder.rnn.bias_ih"] + t["_model.decoder.rnn.bias_hh"]
        self.w_out = t["_model.decoder.decoder.2.weight"].reshape(-1)  # [128]
        self.b_out = float(t["_model.decoder.decoder.2.bias"].reshape(-1)[0])
        self.h = np.zeros(128)
        self.c = np.zeros(128)
        self.context = np.zeros(CONTEXT)

    def chunk(self, samples):
        x = np.concatenate([self.context, samples])            # 576
        self.context = x[-CONTEXT:].copy()
        x = np.pad(x, (0, 64), mode="reflect")                 # 640
        frames = np.lib.stride_tricks.sliding_window_view(x, 256)[::128]  # [4, 256]
        spec = self.basis @ frames.T                           # [258, 4]
        feat = np.sqrt(spec[:129] ** 2 + spec[129:] ** 2)      # [129, 4]
        for (w, b), s in zip(self.enc, STRIDES):
            feat = np.maximum(conv1d(feat, w, b, s), 0.0)
        v = feat[:, 0]                                         # [128], one step left
        g = self.w_ih @ v + self.w_hh @ self.h + self.b
        i, f, gg, o = sigmoid(g[:128]), sigmoid(g[128:256]), np.tanh(g[256:384]), sigmoid(g[384:])
        self.c = f * self.c + i * gg
        self.h = o * np.tanh(self.c)
        return float(sigmoid(self.w_out @ np.maximum(self.h, 0.0) + self.b_out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("wav")
    args = ap.parse_args()
    model = Silero(load_model(args.model))
    audio = read_wav(args.wav)
    n_chunks = -(-len(audio) // CHUNK)
    audio = np.pad(audio, (0, n_chunks * CHUNK - len(audio)))
    out = sys.stdout
    for k in range(n_chunks):
        out.write(f"{model.chunk(audio[k * CHUNK:(k + 1) * CHUNK]):.9g}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
