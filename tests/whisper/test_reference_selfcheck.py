#!/usr/bin/python3
"""Self-check of the Python test tooling (run by hand, takes ~1 minute):
  /usr/bin/python3 tests/whisper/test_reference_selfcheck.py [-v]
Checks the pieces against each other and against independent computations:
the quantization decoders on hand-built blocks, encode/decode round trips
within each type's error bound, the generated file's layout and types, the
mel spectrogram against torch.stft, one Whisper block against torch.nn
modules (nn.MultiheadAttention, nn.LayerNorm, nn.Linear, nn.GELU), causal
consistency of the decoder, the tokenizer and the timestamp rules.
"""
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ggml_quant as gq  # noqa: E402
import reference as ref  # noqa: E402

SHARED = os.path.join(HERE, "..", "..", "..", "shared", "models", "whisper")
TINY_EN = os.path.join(SHARED, "for-tests-ggml-tiny.en.bin")
BASE = os.path.join(SHARED, "for-tests-ggml-base.bin")
PY = "/usr/bin/python3"

TMP = tempfile.mkdtemp(prefix="whisper-selfcheck-")


def model_path(ftype, header=TINY_EN, dims="test", seed=1):
    name = "%s-%s-%s-%d.bin" % (os.path.basename(header), dims, ftype, seed)
    path = os.path.join(TMP, name)
    if not os.path.exists(path):
        subprocess.run([PY, os.path.join(HERE, "make_model.py"), "--header", header, "--out", path,
                        "--dims", dims, "--ftype", ftype, "--seed", str(seed)], check=True)
    return path


def slurp(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def f16(v):
    return struct.pack("<e", v)


class HandBuiltBlocks(unittest.TestCase):
    """Decoders against blocks written byte by byte from the ggml layouts."""

    def test_q4_0(self):
        raw = f16(0.5) + bytes((j | ((15 - j) << 4)) for j in range(16))
        want = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
        self.assertEqual(list(gq.decode(raw, gq.Q4_0, 32)), want)

    def test_q4_1(self):
        raw = f16(0.25) + f16(-1.0) + bytes((j | ((15 - j) << 4)) for j in range(16))
        want = [j * 0.25 - 1 for j in range(16)] + [(15 - j) * 0.25 - 1 for j in range(16)]
        self.assertEqual(list(gq.decode(raw, gq.Q4_1, 32)), want)

    def test_q5_0(self):
        qh = 0xA0F0_0F35
        raw = f16(0.125) + struct.pack("<I", qh) + bytes((j | ((15 - j) << 4)) for j in range(16))
        want = []
        for e in range(32):
            low = e if e < 16 else 15 - (e - 16)
            q = low | (((qh >> e) & 1) << 4)
            want.append((q - 16) * 0.125)
        self.assertEqual(list(gq.decode(raw, gq.Q5_0, 32)), want)

    def test_q5_1(self):
        qh = 0x1234_8765
        raw = (f16(2.0) + f16(0.5) + struct.pack("<I", qh)
               + bytes(((3 * j) % 16 | ((j % 7) << 4)) for j in range(16)))
        want = []
        for e in range(32):
            low = (3 * e) % 16 if e < 16 else (e - 16) % 7
            q = low | (((qh >> e) & 1) << 4)
            want.append(q * 2.0 + 0.5)
        self.assertEqual(list(gq.decode(raw, gq.Q5_1, 32)), want)

    def test_q8_0(self):
        vals = [(-1) ** j * (4 * j - 1) for j in range(32)]
        vals[5] = -128
        raw = f16(0.0625) + struct.pack("<32b", *vals)
        self.assertEqual(list(gq.decode(raw, gq.Q8_0, 32)), [v * 0.0625 for v in vals])

    def test_f16(self):
        raw = f16(1.5) + f16(-2.0) + bytes([0x00, 0x7C]) + bytes([0x01, 0x00])
        got = gq.decode(raw, gq.F16, 4)
        self.assertEqual(list(got[:3]), [1.5, -2.0, float("inf")])
        self.assertEqual(got[3], 2.0 ** -24)  # smallest subnormal


class RoundTrip(unittest.TestCase):
    """encode then decode stays within each type's quantization step."""

    def check(self, ttype, x):
        raw = gq.encode(x, ttype)
        self.assertEqual(len(raw), gq.nbytes(ttype, x.size))
        y = gq.decode(raw, ttype, x.size).reshape(-1, 32)
        b = x.reshape(-1, 32).astype(np.float64)
        err = np.abs(y - b)
        amax = np.abs(b).max(axis=1)
        span = b.max(axis=1) - b.min(axis=1)
        eps = 2.0 ** -10  # f16 scale rounding, relative
        if ttype == gq.Q8_0:
            bound = amax / 127 * (0.5 + 1e-6) + amax * eps
        elif ttype in (gq.Q4_0, gq.Q5_0):
            # a value of the sign opposite to the largest may be clamped: one step
            half = 8 if ttype == gq.Q4_0 else 16
            bound = amax / half * (1 + 1e-6) + amax * eps
        else:
            top = 15 if ttype == gq.Q4_1 else 31
            bound = span / top * (0.5 + 1e-6) + (np.abs(b.min(axis=1)) + span) * eps
        self.assertTrue(np.all(err <= bound[:, None]), "%s: max excess %g" % (
            gq.NAMES[ttype], (err - bound[:, None]).max()))
        # and the error is not trivially zero or larger than expected on average
        step = {gq.Q8_0: amax / 127, gq.Q4_0: amax / 8, gq.Q5_0: amax / 16,
                gq.Q4_1: span / 15, gq.Q5_1: span / 31}[ttype]
        rel = np.sqrt(np.mean((err / step[:, None]) ** 2))
        self.assertTrue(0.15 < rel < 0.45, "%s: rms error %.3f steps" % (gq.NAMES[ttype], rel))
        return y

    def test_all_types(self):
        rng = np.random.default_rng(7)
        x = rng.standard_normal(64 * 1024).astype(np.float32) * 0.3
        x[:32] = np.linspace(-1, 2, 32)  # an exact-grid block
        for t in (gq.Q8_0, gq.Q5_0, gq.Q5_1, gq.Q4_0, gq.Q4_1):
            with self.subTest(type=gq.NAMES[t]):
                self.check(t, x)

    def test_zero_block(self):
        for t in (gq.Q8_0, gq.Q5_0, gq.Q5_1, gq.Q4_0, gq.Q4_1):
            y = gq.decode(gq.encode(np.zeros(32, np.float32), t), t, 32)
            self.assertTrue(np.all(y == 0), gq.NAMES[t])

    def test_f16_f32_exact(self):
        x = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
        self.assertTrue(np.array_equal(gq.decode(gq.encode(x, gq.F32), gq.F32, 1000), x))
        self.assertTrue(np.array_equal(gq.decode(gq.encode(x, gq.F16), gq.F16, 1000),
                                       x.astype(np.float16).astype(np.float64)))


class GeneratedFile(unittest.TestCase):
    def test_layout_and_types(self):
        hdr = slurp(TINY_EN)
        for ftype in ("f32", "f16", "q8_0", "q5_0", "q5_1", "q4_0", "q4_1"):
            with self.subTest(ftype=ftype):
                m = ref.Model(model_path(ftype))
                data = slurp(model_path(ftype))
                wt = gq.TYPES[ftype]
                self.assertEqual(m.ftype, wt if wt <= 1 else 2000 + wt)
                self.assertEqual((m.n_vocab, m.n_audio_ctx, m.n_audio_state, m.n_audio_head,
                                  m.n_audio_layer, m.n_text_ctx, m.n_text_state, m.n_text_head,
                                  m.n_text_layer, m.n_mels), (51864, 1500, 64, 2, 2, 448, 64, 2,
                                                              2, 80))
                # mel filters and vocabulary bytes copied exactly
                self.assertEqual(data[48:len(hdr)], hdr[48:])
                # encoder 7 + 15 per block, decoder 4 + 24 per block
                self.assertEqual(len(m.tensors), 7 + 2 * 15 + 4 + 2 * 24)
                for name, (tt, shape, _, _) in m.tensors.items():
                    is_conv = name.startswith("encoder.conv") and name.endswith(".weight")
                    is_mat = (len(shape) == 2 and name.endswith(".weight") and not is_conv)
                    if wt == gq.F32:
                        want = gq.F32
                    elif is_conv:
                        want = gq.F16
                    elif is_mat:
                        want = wt
                    else:
                        want = gq.F32
                    self.assertEqual(tt, want, name)
                self.assertEqual(m.tensors["decoder.token_embedding.weight"][1], (51864, 64))
                self.assertEqual(m.tensors["encoder.conv1.weight"][1], (64, 80, 3))
                self.assertEqual(m.tensors["encoder.conv2.bias"][1], (64, 1))
                self.assertEqual(m.tensors["encoder.blocks.1.mlp.0.weight"][1], (256, 64))
                self.assertNotIn("encoder.blocks.0.attn.key.bias", m.tensors)

    def test_large_v3_shapes(self):
        path = os.path.join(TMP, "v3.bin")
        subprocess.run([PY, os.path.join(HERE, "make_model.py"), "--header", BASE, "--out", path,
                        "--dims", "custom:64,2,1,4", "--ftype", "q5_1", "--seed", "1",
                        "--n-mels", "128", "--n-vocab", "51866"], check=True)
        m = ref.Model(path)
        self.assertEqual((m.n_vocab, m.n_mels, m.n_text_layer), (51866, 128, 4))
        self.assertEqual(m.mel_filters.shape, (128, 201))
        self.assertEqual(m.tensors["encoder.conv1.weight"][1], (64, 128, 3))
        self.assertEqual(m.vocab, ref.Model(BASE).vocab)
        self.assertEqual(m.special["timestamp_begin"], 50365)
        mel = ref.log_mel(m, 0.1 * np.sin(np.arange(16000) * 0.3))
        self.assertEqual(mel.shape, (128, 3000))

    def test_deterministic(self):
        a = model_path("q5_0")
        b = os.path.join(TMP, "again.bin")
        subprocess.run([PY, os.path.join(HERE, "make_model.py"), "--header", TINY_EN, "--out", b,
                        "--dims", "test", "--ftype", "q5_0", "--seed", "1"], check=True)
        self.assertEqual(slurp(a), slurp(b))
        c = model_path("q5_0", seed=2)
        self.assertNotEqual(slurp(a), slurp(c))

    def test_bad_arguments(self):
        for extra in (["--dims", "huge"], ["--ftype", "q3_k"], ["--dims", "custom:65,2,1,1"]):
            r = subprocess.run([PY, os.path.join(HERE, "make_model.py"), "--header", TINY_EN,
                                "--out", os.path.join(TMP, "bad.bin"), "--seed", "1"] + extra,
                               capture_output=True)
            self.assertEqual(r.returncode, 2, extra)
            self.assertIn(b"expected", r.stderr)

    def test_quantized_weights_follow_f32(self):
        # the same seed draws the same values: every type decodes near the f32 file
        m32 = ref.Model(model_path("f32"))
        name = "decoder.blocks.0.cross_attn.value.weight"
        x = m32.raw(name)
        for ftype, tol in (("f16", 1e-3), ("q8_0", 0.01), ("q5_0", 0.06), ("q4_1", 0.12)):
            y = ref.Model(model_path(ftype)).raw(name)
            self.assertLess(np.abs(y - x).max() / np.abs(x).max(), tol, ftype)


class Mel(unittest.TestCase):
    def test_against_torch_stft(self):
        m = ref.Model(model_path("f32"))
        rng = np.random.default_rng(11)
        for secs in (0.3, 7.0, 30.0):
            n = int(secs * 16000)
            t = np.arange(n) / 16000.0
            audio = 0.2 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(n)
            got = ref.log_mel(m, audio)
            x = torch.from_numpy(np.concatenate([audio, np.zeros(480000)]))
            win = torch.hann_window(400, periodic=True, dtype=torch.float64)
            st = torch.stft(x, 400, 160, window=win, center=True, pad_mode="reflect",
                            return_complex=True)
            power = st[:, :-1].abs() ** 2
            mel = torch.from_numpy(m.mel_filters) @ power
            logm = torch.clamp(mel, min=1e-10).log10()[:, :3000]
            logm = torch.maximum(logm, logm.max() - 8.0)
            want = ((logm + 4.0) / 4.0).numpy()
            self.assertEqual(got.shape, (80, 3000))
            self.assertLess(np.abs(got - want).max(), 1e-9, secs)
            if secs < 29:
                # the clamp did something: the padding frames sit at max - 8
                self.assertAlmostEqual(got.min(), got.max() - 2.0, places=9)


class FakeModel:
    def __init__(self, tensors):
        self.d = {k: torch.from_numpy(v) for k, v in tensors.items()}

    def t(self, name):
        return self.d[name]

    def vec(self, name):
        return self.d[name].reshape(-1)


def random_block(rng, s, prefix, cross):
    d = {}

    def lin(p, n_in, n_out, bias=True):
        d[p + ".weight"] = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        if bias:
            d[p + ".bias"] = rng.standard_normal(n_out) * 0.1

    def ln(p):
        d[p + ".weight"] = 1 + 0.1 * rng.standard_normal(s)
        d[p + ".bias"] = 0.1 * rng.standard_normal(s)

    parts = ["attn"] + (["cross_attn"] if cross else [])
    for part in parts:
        ln(prefix + "." + part + "_ln")
        for w in ("query", "key", "value", "out"):
            lin(prefix + "." + part + "." + w, s, s, bias=(w != "key"))
    ln(prefix + ".mlp_ln")
    lin(prefix + ".mlp.0", s, 4 * s)
    lin(prefix + ".mlp.2", 4 * s, s)
    return d


def torch_mha(d, p, s, heads):
    mha = torch.nn.MultiheadAttention(s, heads, bias=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
            [d[p + ".query.weight"], d[p + ".key.weight"], d[p + ".value.weight"]])))
        mha.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
            [d[p + ".query.bias"], np.zeros(s), d[p + ".value.bias"]])))
        mha.out_proj.weight.copy_(torch.from_numpy(d[p + ".out.weight"]))
        mha.out_proj.bias.copy_(torch.from_numpy(d[p + ".out.bias"]))
    return mha


def torch_ln(d, p, s):
    ln = torch.nn.LayerNorm(s, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        ln.weight.copy_(torch.from_numpy(d[p + ".weight"]))
        ln.bias.copy_(torch.from_numpy(d[p + ".bias"]))
    return ln


def torch_block(d, p, x, s, heads, xa=None, causal=False):
    """The same block from torch.nn modules (batch of 1, sequence first)."""
    mask = None
    if causal:
        n = x.shape[0]
        mask = torch.triu(torch.full((n, n), float("-inf"), dtype=torch.float64), 1)
    h = torch_ln(d, p + ".attn_ln", s)(x)
    a = torch_mha(d, p + ".attn", s, heads)
    x = x + a(h[:, None], h[:, None], h[:, None], attn_mask=mask, need_weights=False)[0][:, 0]
    if xa is not None:
        h = torch_ln(d, p + ".cross_attn_ln", s)(x)
        a = torch_mha(d, p + ".cross_attn", s, heads)
        x = x + a(h[:, None], xa[:, None], xa[:, None], need_weights=False)[0][:, 0]
    h = torch_ln(d, p + ".mlp_ln", s)(x)
    l0 = torch.nn.Linear(s, 4 * s, dtype=torch.float64)
    l2 = torch.nn.Linear(4 * s, s, dtype=torch.float64)
    with torch.no_grad():
        l0.weight.copy_(torch.from_numpy(d[p + ".mlp.0.weight"]))
        l0.bias.copy_(torch.from_numpy(d[p + ".mlp.0.bias"]))
        l2.weight.copy_(torch.from_numpy(d[p + ".mlp.2.weight"]))
        l2.bias.copy_(torch.from_numpy(d[p + ".mlp.2.bias"]))
    return x + l2(torch.nn.GELU()(l0(h)))


class Layers(unittest.TestCase):
    def test_blocks_against_torch_nn(self):
        torch.set_grad_enabled(False)
        rng = np.random.default_rng(5)
        s, heads = 48, 4
        for cross in (False, True):
            d = random_block(rng, s, "b", cross)
            fm = FakeModel(d)
            x = torch.from_numpy(rng.standard_normal((9, s)))
            xa = torch.from_numpy(rng.standard_normal((13, s))) if cross else None
            got = ref.block(fm, "b", x, heads, xa=xa, causal=cross)
            want = torch_block(d, "b", x, s, heads, xa=xa, causal=cross)
            self.assertLess((got - want).abs().max().item(), 1e-12)
            # and the check is sensitive: a different head count changes the output
            other = ref.block(fm, "b", x, 2, xa=xa, causal=cross)
            self.assertGreater((other - want).abs().max().item(), 1e-3)

    def test_decoder_is_causal(self):
        torch.set_grad_enabled(False)
        m = ref.Model(model_path("f16"))
        mel = ref.log_mel(m, 0.1 * np.sin(np.arange(32000) * 0.1))
        xa = ref.encode(m, mel)
        self.assertEqual(tuple(xa.shape), (1500, 64))
        toks = [50257, 50362, 1000, 2000, 50256]
        full = ref.decode(m, toks, xa)
        self.assertEqual(tuple(full.shape), (5, 51864))
        part = ref.decode(m, toks[:3], xa)
        self.assertLess((full[:3] - part).abs().max().item(), 1e-10)
        # the cached, incremental path (greedy's) gives the same logits
        cache = ref.new_cache(m)
        cross = ref.cross_keys_values(m, xa)
        steps = [ref.decode(m, toks[:2], cross, cache=cache)]
        steps += [ref.decode(m, [t], cross, cache=cache, last_only=True) for t in toks[2:]]
        self.assertLess((torch.cat(steps) - full).abs().max().item(), 1e-10)
        self.assertEqual(cache["n"], 5)
        self.assertGreater((full[3] - full[2]).abs().max().item(), 1e-3)


class Tokenizer(unittest.TestCase):
    def test_pieces(self):
        self.assertEqual(ref.gpt2_pieces("Hello world's  test 123!! \n x"),
                         ["Hello", " world", "'s", " ", " test", " 123", "!!", " \n", " x"])
        self.assertEqual(ref.gpt2_pieces("héllo  "), ["héllo", "  "])

    def test_round_trip_and_fallback(self):
        for header in (TINY_EN, BASE):
            m = ref.Model(header)
            tok = ref.Tokenizer(m)
            text = "Hello world, this is a test of the tokenizer: ça va? ♪"
            ids = tok.encode(text)
            if header == TINY_EN:
                # tiny.en's file stores lone high bytes as U+FFFD: ♪'s first byte
                # falls back to its GPT-2 byte id
                self.assertIn(ref.byte_token_id(0xE2), ids)
            else:
                self.assertEqual(tok.bytes_of(ids), text.encode())
            self.assertEqual(tok.encode(" the"), [262 if header == TINY_EN else 264])
            self.assertEqual(ref.byte_token_id(ord("!")), 0)
            self.assertEqual(ref.byte_token_id(ord(" ")), 220)
            self.assertEqual(m.vocab[220], b" ")

    def test_cli_tokens(self):
        out = os.path.join(TMP, "tok.txt")
        subprocess.run([PY, os.path.join(HERE, "reference.py"), "tokens", "--model", BASE, "--ids",
                        "15496,1002,50257,50364", "--out", out], check=True)
        m = ref.Model(BASE)
        self.assertEqual(slurp(out), m.vocab[15496] + m.vocab[1002])

    def test_special_ids(self):
        en = ref.special_tokens(51864)
        self.assertEqual((en["eot"], en["sot"], en["translate"], en["transcribe"],
                          en["no_timestamps"], en["timestamp_begin"]),
                         (50256, 50257, 50357, 50358, 50362, 50363))
        ml = ref.special_tokens(51865)
        self.assertEqual((ml["eot"], ml["sot"], ml["translate"], ml["no_speech"],
                          ml["no_timestamps"], ml["timestamp_begin"]),
                         (50257, 50258, 50358, 50362, 50363, 50364))
        v3 = ref.special_tokens(51866)
        self.assertEqual((v3["n_languages"], v3["timestamp_begin"]), (100, 50365))


class TimestampRules(unittest.TestCase):
    SP = ref.special_tokens(51864)
    TB = 50363

    def rules(self, seq, logits=None):
        lg = np.zeros(51864) if logits is None else logits.copy()
        ref.apply_timestamp_rules(lg, seq, self.SP)
        return lg

    def test_first_position(self):
        lg = self.rules([])
        allowed = np.flatnonzero(np.isfinite(lg))
        self.assertEqual(list(allowed), list(range(self.TB, self.TB + 51)))

    def test_pairs_and_order(self):
        lg = self.rules([self.TB + 5, 300])
        self.assertTrue(np.isinf(lg[self.TB + 5]) and np.isfinite(lg[self.TB + 6]))
        self.assertTrue(np.isfinite(lg[300]) or np.isinf(lg[300]))  # text may lose to ts mass
        lg = self.rules([self.TB + 5, 300, self.TB + 9])  # opening a pair: ts >= 9 or eot
        self.assertTrue(np.all(np.isinf(lg[:50256])))
        self.assertTrue(np.isinf(lg[self.TB + 8]) and np.isfinite(lg[self.TB + 9]))
        lg = self.rules([self.TB + 5, 300, self.TB + 9, self.TB + 9])  # closed: text only
        self.assertTrue(np.all(np.isinf(lg[self.TB:])))
        self.assertTrue(np.isfinite(lg[300]))

    def test_timestamp_mass_wins(self):
        lg = np.zeros(51864)
        lg[self.TB:] = -2.0   # 1501 timestamps: log-sum far above one text token
        lg[300] = 5.0
        out = self.rules([self.TB, 300], lg)
        self.assertTrue(np.all(np.isinf(out[:self.TB])))
        lg[300] = 9.0
        out = self.rules([self.TB, 300], lg)
        self.assertTrue(np.isfinite(out[300]))


class CommandLine(unittest.TestCase):
    def test_pipeline(self):
        m = model_path("q8_0")
        audio = os.path.join(TMP, "a.f32")
        (0.1 * np.sin(np.arange(48000) * 0.2)).astype("<f4").tofile(audio)
        mel, enc, lg, gr = (os.path.join(TMP, n) for n in ("m.f32", "e.f32", "l.f32", "g.txt"))
        r = os.path.join(HERE, "reference.py")
        subprocess.run([PY, r, "mel", "--model", m, "--audio", audio, "--out", mel], check=True)
        self.assertEqual(os.path.getsize(mel), 80 * 3000 * 4)
        subprocess.run([PY, r, "encode", "--model", m, "--mel", mel, "--out", enc], check=True)
        self.assertEqual(os.path.getsize(enc), 1500 * 64 * 4)
        subprocess.run([PY, r, "logits", "--model", m, "--mel", mel, "--tokens", "50257,50362",
                        "--out", lg], check=True)
        self.assertEqual(os.path.getsize(lg), 2 * 51864 * 4)
        subprocess.run([PY, r, "greedy", "--model", m, "--mel", mel, "--prompt", "50257",
                        "--sample-len", "12", "--out", gr], check=True)
        ids = [int(t) for t in slurp(gr, "r").split()]
        self.assertTrue(1 <= len(ids) <= 12)
        self.assertTrue(ids[0] >= self.TB if hasattr(self, "TB") else ids[0] >= 50363)
        self.assertTrue(len(ids) == 12 or ids[-1] == 50256)
        r2 = subprocess.run([PY, r, "encode", "--model", m, "--mel", audio, "--out", enc],
                            capture_output=True)
        self.assertEqual(r2.returncode, 2)
        self.assertIn(b"expected", r2.stderr)


if __name__ == "__main__":
    try:
        unittest.main()
    finally:
        import shutil
        shutil.rmtree(TMP, ignore_errors=True)
