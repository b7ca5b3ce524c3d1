"""ref_segmentation: a float64 PyTorch reference of pyannote/segmentation-3.0
(PyanNet: SincNet -> 4-layer bidirectional LSTM -> 2 linear layers -> 7-class
powerset log-softmax), written for the tests from the published definitions.

Definitions learnt from (read, not copied):
  pyannote/pyannote-audio models/segmentation/PyanNet.py @ 035201d1b5f9,
  models/blocks/sincnet.py @ 00d4b49d3af2 (same non-streaming path as 3.1),
  utils/powerset.py @ 46819feebc58;
  asteroid-team/asteroid-filterbanks param_sinc_fb.py @ 18a27ca49212 and
  enc_dec.py @ 00c8b9010e89 (Encoder = plain conv1d, no padding).
The index holds one version of each file; those of pyannote-audio are
from around 3.1 (sincnet.py already has a "streaming" option, whose default
False path is 3.1's forward). What the reference depends on (module names,
the non-streaming SincNet forward, the powerset class order, LogSoftmax)
is unchanged in 3.1.x.

The modules below carry PyanNet's attribute names so their state dict has the
published tensor names (sincnet.conv1d.0.filterbank.low_hz_, lstm.weight_ih_l0,
linear.0.weight, classifier.weight ...). ParamSincFB registers window_ and n_
as persistent buffers, so published checkpoints hold them; the C reader
uses them when present and recomputes them otherwise.

Usage:
  ref_segmentation.py OUTDIR      write a checkpoint, windows and reference
                                  outputs (raw little-endian float32 / uint8)
  ref_segmentation.py --selfcheck compare the float64 forward with torch's own
                                  float32 modules (nn.LSTM, nn.InstanceNorm1d)
"""
import itertools
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from checkpoint import save_checkpoint, write_raw

SAMPLE_RATE = 16000
N_SINC = 80          # output channels of the sinc stage: 40 cos + 40 sin filters
KERNEL = 251
HALF = KERNEL // 2   # 125
STRIDE = 10
MIN_LOW_HZ = 50.0
MIN_BAND_HZ = 50.0
CONV_CH = 60
HIDDEN = 128
LAYERS = 4
LINEAR = 128
CLASSES = 7
LOCAL_SPEAKERS = 3
EPS = 1e-5
SLOPE = 0.01
WINDOW = 10 * SAMPLE_RATE


# ---- modules with the published attribute names ---------------------------


class ParamSinc(nn.Module):
    """Stands for asteroid's ParamSincFB: same parameters and buffers."""

    def __init__(self):
        super().__init__()
        half = N_SINC // 2
        self.low_hz_ = nn.Parameter(torch.zeros(half, 1))
        self.band_hz_ = nn.Parameter(torch.zeros(half, 1))
        self.register_buffer("window_", torch.zeros(HALF))
        self.register_buffer("n_", torch.zeros(1, HALF))

    def filters(self):
        # Built the way the filterbank does (left half, centre, mirrored
        # right half), unlike ref_filters below which goes tap by tap. In
        # float64 whatever the module's type: sines of arguments up to ~400
        # rad lose ~1e-5 in float32, which the instance norms amplify to
        # ~1e-4 at the output; the C code builds its filters in double too.
        n_, window_ = self.n_.double(), self.window_.double()
        low = MIN_LOW_HZ + self.low_hz_.double().abs()
        high = torch.clamp(low + MIN_BAND_HZ + self.band_hz_.double().abs(), MIN_LOW_HZ,
                           SAMPLE_RATE / 2)
        band = (high - low)[:, 0]
        arg_lo, arg_hi = low * n_, high * n_
        left_c = (torch.sin(arg_hi) - torch.sin(arg_lo)) / (n_ / 2) * window_
        left_s = (torch.cos(arg_lo) - torch.cos(arg_hi)) / (n_ / 2) * window_
        cos_f = torch.cat([left_c, 2 * band[:, None], left_c.flip(1)], 1)
        sin_f = torch.cat([left_s, torch.zeros_like(band[:, None]), -left_s.flip(1)], 1)
        cos_f = cos_f / (2 * band[:, None])
        sin_f = sin_f / (2 * band[:, None])
        return torch.cat([cos_f, sin_f], 0)[:, None, :].to(self.low_hz_.dtype)


class SincEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.filterbank = ParamSinc()

    def forward(self, x):
        return F.conv1d(x, self.filterbank.filters(), stride=STRIDE)


class SincNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
        self.conv1d = nn.ModuleList(
            [SincEncoder(), nn.Conv1d(N_SINC, CONV_CH, 5), nn.Conv1d(CONV_CH, CONV_CH, 5)])
        self.pool1d = nn.ModuleList([nn.MaxPool1d(3, stride=3) for _ in range(3)])
        self.norm1d = nn.ModuleList([nn.InstanceNorm1d(c, affine=True)
                                     for c in (N_SINC, CONV_CH, CONV_CH)])

    def forward(self, x):
        y = self.wav_norm1d(x)
        for i in range(3):
            y = self.conv1d[i](y)
            if i == 0:
                y = y.abs()
            y = F.leaky_relu(self.norm1d[i](self.pool1d[i](y)), SLOPE)
        return y


class PyanNet(nn.Module):
    def __init__(self, hidden=HIDDEN):
        super().__init__()
        self.sincnet = SincNet()
        self.lstm = nn.LSTM(CONV_CH, hidden, num_layers=LAYERS, bidirectional=True,
                            batch_first=True)
        self.linear = nn.ModuleList([nn.Linear(2 * hidden, LINEAR), nn.Linear(LINEAR, LINEAR)])
        self.classifier = nn.Linear(LINEAR, CLASSES)

    def forward(self, windows):
        y = self.sincnet(windows[:, None, :])
        y, _ = self.lstm(y.transpose(1, 2))
        for lin in self.linear:
            y = F.leaky_relu(lin(y), SLOPE)
        return F.log_softmax(self.classifier(y), dim=-1)


# ---- random weights ---------------------------------------------------------


def mel_init():
    """low_hz_ and band_hz_ as ParamSincFB initialises them (mel-spaced)."""
    to_mel = lambda hz: 2595 * np.log10(1 + hz / 700)
    to_hz = lambda mel: 700 * (10 ** (mel / 2595) - 1)
    top = SAMPLE_RATE / 2 - (MIN_LOW_HZ + MIN_BAND_HZ)
    mel = np.linspace(to_mel(30), to_mel(top), N_SINC // 2 + 1, dtype="float32")
    hz = to_hz(mel)
    return hz[:-1].astype(np.float32), np.diff(hz).astype(np.float32)


def random_state_dict(seed, hidden=HIDDEN):
    torch.manual_seed(seed)
    net = PyanNet(hidden)  # torch's default init for conv, LSTM and linear
    g = torch.Generator().manual_seed(seed + 1)
    low, band = mel_init()
    fb = net.sincnet.conv1d[0].filterbank
    with torch.no_grad():
        # Trained filters drift from the mel grid; perturb a little.
        fb.low_hz_.copy_(torch.from_numpy(low)[:, None] *
                         (1 + 0.1 * torch.randn(N_SINC // 2, 1, generator=g)))
        fb.band_hz_.copy_(torch.from_numpy(band)[:, None] *
                          (1 + 0.1 * torch.randn(N_SINC // 2, 1, generator=g)))
        fb.window_.copy_(torch.from_numpy(np.hamming(KERNEL)[:HALF]).float())
        fb.n_.copy_(2 * math.pi * torch.arange(-HALF, 0.0).view(1, -1) / SAMPLE_RATE)
        norms = [net.sincnet.wav_norm1d] + list(net.sincnet.norm1d)
        for n in norms:
            n.weight.copy_(1 + 0.1 * torch.randn(n.weight.shape, generator=g))
            n.bias.copy_(0.1 * torch.randn(n.bias.shape, generator=g))
        # Torch's init leaves every frame near log(1/7); trained weights are
        # larger. Scaled so the scores spread and every window mixes classes.
        for name, p in net.named_parameters():
            if name.startswith("lstm.weight"):
                p.mul_(3)
            elif name.startswith("linear.") and name.endswith("weight"):
                p.mul_(2)
            elif name.startswith("classifier."):
                p.mul_(8)
    return {k: v.detach().clone().float() for k, v in net.state_dict().items()}


# ---- float64 forward, written directly from the definitions ----------------


def ref_filters(sd):
    """The 80 x 251 sinc filters, tap by tap, in float64."""
    low_p = sd["sincnet.conv1d.0.filterbank.low_hz_"].double()[:, 0]
    band_p = sd["sincnet.conv1d.0.filterbank.band_hz_"].double()[:, 0]
    if "sincnet.conv1d.0.filterbank.window_" in sd:
        win = sd["sincnet.conv1d.0.filterbank.window_"].double()
        n = sd["sincnet.conv1d.0.filterbank.n_"].double()[0]
    else:
        k = torch.arange(HALF, dtype=torch.float64)
        win = 0.54 - 0.46 * torch.cos(2 * math.pi * k / (KERNEL - 1))
        n = 2 * math.pi * (k - HALF) / SAMPLE_RATE
    low = MIN_LOW_HZ + low_p.abs()
    high = torch.clamp(low + MIN_BAND_HZ + band_p.abs(), MIN_LOW_HZ, SAMPLE_RATE / 2)
    band = high - low
    out = torch.zeros(N_SINC, KERNEL, dtype=torch.float64)
    half = N_SINC // 2
    for j in range(HALF):  # tap j and its mirror KERNEL - 1 - j
        lo, hi = low * n[j], high * n[j]
        c = (torch.sin(hi) - torch.sin(lo)) / (n[j] / 2) * win[j] / (2 * band)
        s = (torch.cos(lo) - torch.cos(hi)) / (n[j] / 2) * win[j] / (2 * band)
        out[:half, j], out[:half, KERNEL - 1 - j] = c, c
        out[half:, j], out[half:, KERNEL - 1 - j] = s, -s
    out[:half, HALF] = 1.0
    return out


def inorm(x, w, b):
    """Instance norm over time: x (batch, channels, time), biased variance."""
    mean = x.mean(dim=2, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=2, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS) * w[None, :, None] + b[None, :, None]


def lrelu(x):
    return torch.where(x >= 0, x, SLOPE * x)


def maxpool3(x):
    t = x.shape[2] // 3
    return x[:, :, : 3 * t].reshape(x.shape[0], x.shape[1], t, 3).max(dim=3).values


def ref_lstm(sd, x):
    """x (batch, time, features) -> (batch, time, 2H); gates i, f, g, o."""
    for layer in range(LAYERS):
        outs = []
        for suffix in ("", "_reverse"):
            w_ih = sd[f"lstm.weight_ih_l{layer}{suffix}"]
            w_hh = sd[f"lstm.weight_hh_l{layer}{suffix}"]
            bias = sd[f"lstm.bias_ih_l{layer}{suffix}"] + sd[f"lstm.bias_hh_l{layer}{suffix}"]
            hdim = w_hh.shape[1]
            pre = x @ w_ih.T + bias
            h = torch.zeros(x.shape[0], hdim, dtype=torch.float64)
            c = torch.zeros_like(h)
            y = torch.zeros(x.shape[0], x.shape[1], hdim, dtype=torch.float64)
            steps = range(x.shape[1]) if suffix == "" else range(x.shape[1] - 1, -1, -1)
            for t in steps:
                gates = pre[:, t] + h @ w_hh.T
                i, f, g, o = gates.split(hdim, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                y[:, t] = h
            outs.append(y)
        x = torch.cat(outs, dim=2)
    return x


def forward(state_dict, windows):
    """windows (n, samples) -> log-probabilities (n, frames, 7), float64."""
    sd = {k: v.double() for k, v in state_dict.items()}
    x = torch.as_tensor(windows, dtype=torch.float64)[:, None, :]
    x = inorm(x, sd["sincnet.wav_norm1d.weight"], sd["sincnet.wav_norm1d.bias"])
    x = F.conv1d(x, ref_filters(sd)[:, None, :], stride=STRIDE).abs()
    x = lrelu(inorm(maxpool3(x), sd["sincnet.norm1d.0.weight"], sd["sincnet.norm1d.0.bias"]))
    for i in (1, 2):
        x = F.conv1d(x, sd[f"sincnet.conv1d.{i}.weight"], sd[f"sincnet.conv1d.{i}.bias"])
        x = lrelu(inorm(maxpool3(x), sd[f"sincnet.norm1d.{i}.weight"],
                        sd[f"sincnet.norm1d.{i}.bias"]))
    x = ref_lstm(sd, x.transpose(1, 2))
    for i in (0, 1):
        x = lrelu(x @ sd[f"linear.{i}.weight"].T + sd[f"linear.{i}.bias"])
    logits = x @ sd["classifier.weight"].T + sd["classifier.bias"]
    return logits - torch.logsumexp(logits, dim=2, keepdim=True)


def powerset_mapping():
    """Row k: the speakers of powerset class k ({}, {0}, {1}, {2}, {0,1}, ...)."""
    m = np.zeros((CLASSES, LOCAL_SPEAKERS), dtype=np.uint8)
    k = 0
    for size in range(3):
        for subset in itertools.combinations(range(LOCAL_SPEAKERS), size):
            m[k, list(subset)] = 1
            k += 1
    return m


def to_multilabel(log_probs):
    """(..., 7) -> (..., 3) uint8: argmax (first on ties), then its speakers."""
    lp = np.asarray(log_probs)
    return powerset_mapping()[np.argmax(lp, axis=-1)]


def num_frames(n_samples):
    """Frames for n_samples, from the shapes torch's own ops produce."""
    x = torch.zeros(1, 1, n_samples)
    if n_samples < KERNEL:
        return 0
    x = F.conv1d(x, torch.ones(1, 1, KERNEL), stride=STRIDE)
    for k in (5, 5, None):
        if x.shape[2] < 3:
            return 0
        x = F.max_pool1d(x, 3, 3)
        if k is None:
            break
        if x.shape[2] < k:
            return 0
        x = F.conv1d(x, torch.ones(1, 1, k))
    return x.shape[2]


# ---- test data ---------------------------------------------------------------


def speech_like(rng, n, amplitude):
    """Sine bursts of varying pitch and length under envelopes, plus noise."""
    t = np.arange(n) / SAMPLE_RATE
    x = 0.01 * rng.standard_normal(n)
    for _ in range(rng.integers(4, 9)):
        start = rng.uniform(0, t[-1] - 0.3)
        length = rng.uniform(0.2, 2.5)
        f0 = rng.uniform(90, 300)
        env = np.clip((t - start) / 0.05, 0, 1) * np.clip((start + length - t) / 0.05, 0, 1)
        burst = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5))
        x += rng.uniform(0.2, 1.0) * env * burst
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


def make_windows(seed, count, n):
    rng = np.random.default_rng(seed)
    amps = [0.8, 0.05, 0.3, 0.6, 0.01, 0.2]
    ws = [speech_like(rng, n, amps[i % len(amps)]) for i in range(count)]
    if count >= 3:
        ws[2] = np.zeros(n, dtype=np.float32)  # a silent window
    return np.stack(ws)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    sd = random_state_dict(7)
    hyper = {"sincnet": {"stride": STRIDE, "sample_rate": SAMPLE_RATE},
             "lstm": {"hidden_size": HIDDEN, "num_layers": LAYERS, "bidirectional": True,
                      "monolithic": True, "dropout": 0.0, "batch_first": True},
             "linear": {"hidden_size": LINEAR, "num_layers": 2}}
    save_checkpoint(os.path.join(outdir, "seg.ckpt"), sd, hyper)

    # The same weights without the filterbank's buffers: recomputed in C.
    nobuf = {k: v for k, v in sd.items() if not k.endswith(("window_", "n_"))}
    save_checkpoint(os.path.join(outdir, "seg_nobuf.ckpt"), nobuf, hyper)

    bad = dict(sd)
    del bad["lstm.weight_hh_l2_reverse"]
    save_checkpoint(os.path.join(outdir, "bad_missing.ckpt"), bad, hyper)
    bad = dict(sd)
    bad["linear.1.weight"] = torch.zeros(LINEAR, 100)
    save_checkpoint(os.path.join(outdir, "bad_shape.ckpt"), bad, hyper)
    # A consistent 64-unit LSTM, but the linear layer expects 2 x 128 inputs.
    small = random_state_dict(8, hidden=64)
    bad = {k: (small[k] if k.startswith("lstm.") else v) for k, v in sd.items()}
    save_checkpoint(os.path.join(outdir, "bad_lstm.ckpt"), bad, hyper)
    bad = dict(sd)
    bad["lstm.weight_ih_l1"] = torch.zeros(4 * HIDDEN, 200)
    save_checkpoint(os.path.join(outdir, "bad_lstm_in.ckpt"), bad, hyper)

    windows = make_windows(11, 5, WINDOW)
    write_raw(os.path.join(outdir, "windows.f32"), windows)
    with torch.no_grad():
        lp = forward(sd, torch.from_numpy(windows)).numpy()
    write_raw(os.path.join(outdir, "ref_logp.f32"), lp)
    write_raw(os.path.join(outdir, "ref_active.u8"), to_multilabel(lp), np.uint8)
    # Decisions the C code must reproduce exactly from the same float32 scores.
    write_raw(os.path.join(outdir, "ref_active_f32.u8"), to_multilabel(lp.astype(np.float32)),
              np.uint8)

    # Filters from recomputed buffers differ from the stored float32 ones
    # by ~1e-7 in n_, which the network magnifies to ~1e-4: own reference.
    with torch.no_grad():
        lp = forward(nobuf, torch.from_numpy(windows[:3])).numpy()
    write_raw(os.path.join(outdir, "ref_nobuf.f32"), lp)

    # Another size: 24 units per direction (not a multiple of 16, so the
    # C code's portable recurrence runs instead of the AVX-512 one).
    small = random_state_dict(9, hidden=24)
    save_checkpoint(os.path.join(outdir, "seg_h24.ckpt"), small, hyper)
    with torch.no_grad():
        lp = forward(small, torch.from_numpy(windows[:2])).numpy()
    write_raw(os.path.join(outdir, "ref_h24.f32"), lp)

    short = make_windows(12, 2, 48017)
    write_raw(os.path.join(outdir, "short.f32"), short)
    with torch.no_grad():
        lp = forward(sd, torch.from_numpy(short)).numpy()
    write_raw(os.path.join(outdir, "ref_short.f32"), lp)

    with open(os.path.join(outdir, "frames.txt"), "w") as f:
        for n in (160000, 48017, 991, 990, 1000, 1261, 16000, 32000, 80001, 250, 0):
            f.write(f"{n} {num_frames(n)}\n")


def selfcheck():
    sd = random_state_dict(3)
    net = PyanNet()
    net.load_state_dict(sd)
    net.eval()
    windows = torch.from_numpy(make_windows(5, 3, WINDOW))
    with torch.no_grad():
        ours = forward(sd, windows)
        theirs = net(windows).double()
        f_ours = ref_filters(sd)
        f_theirs = net.sincnet.conv1d[0].filterbank.double().filters()[:, 0, :]
    ferr = (f_ours - f_theirs).abs().max() / f_theirs.abs().max()
    err = (ours - theirs).abs().max() / theirs.abs().max()
    print(f"filters: max|ref-torch|/max|torch| = {ferr:.3g}")
    print(f"log-probs: max|ref-torch|/max|torch| = {err:.3g}  frames {ours.shape[1]}")
    assert ours.shape == (3, 589, CLASSES), ours.shape
    assert ferr < 1e-12 and err < 2e-5
    assert num_frames(WINDOW) == 589
    print("selfcheck ok")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--selfcheck":
        selfcheck()
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
