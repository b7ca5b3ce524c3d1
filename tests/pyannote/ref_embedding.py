"""ref_embedding: a float64 PyTorch reference of
pyannote/wespeaker-voxceleb-resnet34-LM (Kaldi fbank -> ResNet34 -> weighted
statistics pooling -> one linear layer, 256 values), written for the tests
from the published definitions.

Definitions learnt from (read, not copied):
  pyannote/pyannote-audio models/embedding/wespeaker/__init__.py @ 19473f70e10c
    (waveform x 2**15, kaldi.fbank with 80 bins, 25/10 ms, dither 0, hamming,
    no energy; features minus their mean over time),
  models/embedding/wespeaker/resnet.py @ a40a756f4f87 (ResNet34: BasicBlock
    [3, 4, 6, 3], 32 channels, input (batch, 1, freq, time), TSTP flattens
    (channel, freq) into 2560 rows, seg_1 5120 -> 256, two_emb_layer False),
  models/blocks/pooling.py, the 3.1 version (StatsPool._pool: 1e-8 added to
    both denominators, weights resized with F.interpolate mode "nearest"),
  pipelines/speaker_verification.py @ 02fc38a81e54 (min_num_samples: the
    shortest input the model runs on without raising);
  pytorch/audio torchaudio/compliance/kaldi.py @ 03b6837a0c03 (snip_edges
    framing, DC removal, pre-emphasis replicating the first sample, the
    symmetric Hamming window, 512-point power spectrum, Kaldi mel banks
    1127 ln(1 + f / 700) from 20 Hz to Nyquist, log floored at float eps).

The modules below carry the published attribute names so their state dict
has the checkpoint's tensor names (resnet.conv1.weight, resnet.bn1.running_var,
resnet.layer2.0.shortcut.0.weight, resnet.seg_1.bias ...).

Usage:
  ref_embedding.py OUTDIR        write checkpoints, chunks, masks and the
                                 reference fbank and embeddings (raw
                                 little-endian float32) into OUTDIR
  ref_embedding.py --selfcheck   compare our fbank with torchaudio's (or an
                                 independent NumPy one) and the float64
                                 network with torch's own float32 modules
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from checkpoint import save_checkpoint, write_raw

SAMPLE_RATE = 16000
MELS = 80
WIN = 400          # 25 ms
SHIFT = 160        # 10 ms
NFFT = 512
PREEMPH = 0.97
LOW_HZ = 20.0
FLT_EPS = float(np.finfo(np.float32).eps)
CHANNELS = 32
BLOCKS = (3, 4, 6, 3)
EMBED = 256
BN_EPS = 1e-5
POOL_EPS = 1e-8
MIN_SAMPLES = WIN  # one fbank frame; every stride keeps at least one column
MASK_FRAMES = 589  # the segmentation's frames per 10 s window


# ---- modules with the published attribute names ---------------------------


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, CHANNELS, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(CHANNELS)
        cin = CHANNELS
        for i, n in enumerate(BLOCKS):
            cout = CHANNELS << i
            layer = [Block(cin if b == 0 else cout, cout, (1 if i == 0 else 2) if b == 0 else 1)
                     for b in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
            cin = cout
        self.seg_1 = nn.Linear(2 * (MELS // 8) * CHANNELS * 8, EMBED)

    def trunk(self, feats):
        """feats: (batch, 1, freq, time) -> (batch, 256, 10, time / 8)."""
        x = F.relu(self.bn1(self.conv1(feats)))
        for i in range(len(BLOCKS)):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


class Embedding(nn.Module):
    """Stands for pyannote's WeSpeakerResNet34: the network lives in .resnet."""

    def __init__(self):
        super().__init__()
        self.resnet = ResNet()


# ---- random weights of the real sizes -------------------------------------


def conv_names():
    """(prefix of the conv, prefix of its BatchNorm) in network order."""
    out = [("resnet.conv1", "resnet.bn1")]
    for i, n in enumerate(BLOCKS):
        for b in range(n):
            p = f"resnet.layer{i + 1}.{b}"
            out += [(p + ".conv1", p + ".bn1"), (p + ".conv2", p + ".bn2")]
            if b == 0 and i > 0:
                out.append((p + ".shortcut.0", p + ".shortcut.1"))
    return out


def random_state_dict(seed):
    """Kaiming-scaled convolutions; BatchNorm statistics calibrated on a
    speech-like signal (the batch statistics each layer really sees, then
    perturbed) so activations stay O(1) through the 16 blocks."""
    g = torch.Generator().manual_seed(seed)
    model = Embedding().double()
    sd = model.state_dict()
    for conv, bn in conv_names():
        w = sd[conv + ".weight"]
        fan_in = w.shape[1] * w.shape[2] * w.shape[3]
        w.copy_(torch.randn(w.shape, generator=g, dtype=torch.float64) * math.sqrt(2.0 / fan_in))
        c = w.shape[0]
        sd[bn + ".weight"].copy_(0.5 + torch.rand(c, generator=g, dtype=torch.float64))
        sd[bn + ".bias"].copy_(0.2 * torch.randn(c, generator=g, dtype=torch.float64))
        sd[bn + ".num_batches_tracked"].fill_(1000)
    bound = 1.0 / math.sqrt(sd["resnet.seg_1.weight"].shape[1])
    sd["resnet.seg_1.weight"].copy_((torch.rand(sd["resnet.seg_1.weight"].shape, generator=g,
                                                dtype=torch.float64) * 2 - 1) * bound)
    sd["resnet.seg_1.bias"].copy_(0.1 * torch.randn(EMBED, generator=g, dtype=torch.float64))

    rng = np.random.default_rng(seed)
    calib = torch.from_numpy(speech_like(rng, 3 * SAMPLE_RATE, 0.5)).double()
    x = features(calib)[None, None]
    stats = {}

    def bn_calibrated(name, y):
        m = y.mean(dim=(0, 2, 3))
        v = y.var(dim=(0, 2, 3))
        c = m.shape[0]
        stats[name + ".running_mean"] = m + 0.1 * v.sqrt() * torch.randn(
            c, generator=g, dtype=torch.float64)
        stats[name + ".running_var"] = v * (0.8 + 0.4 * torch.rand(c, generator=g,
                                                                    dtype=torch.float64)) + 1e-3
        sd.update(stats)
        return batchnorm(sd, name, y)

    trunk(sd, x, bn_calibrated)
    for k, v in stats.items():
        sd[k] = v
    return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}


# ---- the float64 reference --------------------------------------------------


def mel(f):
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


def mel_banks():
    """(80, 257) triangular filters in mel, zero on the Nyquist bin."""
    lo, hi = mel(LOW_HZ), mel(SAMPLE_RATE / 2)
    step = (hi - lo) / (MELS + 1)
    bins = mel(np.arange(NFFT // 2) * SAMPLE_RATE / NFFT)
    out = np.zeros((MELS, NFFT // 2 + 1))
    for m in range(MELS):
        left, centre, right = lo + m * step, lo + (m + 1) * step, lo + (m + 2) * step
        up = (bins - left) / (centre - left)
        down = (right - bins) / (right - centre)
        out[m, : NFFT // 2] = np.maximum(0.0, np.minimum(up, down))
    return torch.from_numpy(out)


def fbank(waveform):
    """Kaldi fbank of a 1-D float waveform in [-1, 1]: (frames, 80), before
    pyannote's mean normalisation."""
    x = torch.as_tensor(waveform, dtype=torch.float64) * 32768.0
    n = (x.shape[0] - WIN) // SHIFT + 1
    if n < 1:
        raise ValueError(f"{x.shape[0]} samples: fewer than one {WIN}-sample frame")
    frames = torch.stack([x[i * SHIFT: i * SHIFT + WIN] for i in range(n)])
    frames = frames - frames.mean(dim=1, keepdim=True)
    prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - PREEMPH * prev
    k = torch.arange(WIN, dtype=torch.float64)
    frames = frames * (0.54 - 0.46 * torch.cos(2 * math.pi * k / (WIN - 1)))
    spec = torch.fft.rfft(F.pad(frames, (0, NFFT - WIN)), dim=1)
    power = spec.real ** 2 + spec.imag ** 2
    energies = power @ mel_banks().T
    return torch.clamp(energies, min=FLT_EPS).log()


def features(waveform):
    """What pyannote feeds the ResNet: (80, frames), mean over time removed."""
    fb = fbank(waveform)
    return (fb - fb.mean(dim=0, keepdim=True)).T


def batchnorm(sd, name, y):
    s = sd[name + ".weight"].double() / torch.sqrt(sd[name + ".running_var"].double() + BN_EPS)
    shift = sd[name + ".bias"].double() - sd[name + ".running_mean"].double() * s
    return y * s[None, :, None, None] + shift[None, :, None, None]


def conv(sd, name, x, stride):
    w = sd[name + ".weight"].double()
    return F.conv2d(x, w, stride=stride, padding=w.shape[2] // 2)


def trunk(sd, x, bn=None):
    """x: (1, 1, 80, frames) -> (1, 256, 10, frames'); bn(name, y) overrides
    the BatchNorm (calibration)."""
    bn = bn or (lambda name, y: batchnorm(sd, name, y))
    x = F.relu(bn("resnet.bn1", conv(sd, "resnet.conv1", x, 1)))
    for i, n in enumerate(BLOCKS):
        for b in range(n):
            p = f"resnet.layer{i + 1}.{b}"
            stride = 2 if (b == 0 and i > 0) else 1
            y = F.relu(bn(p + ".bn1", conv(sd, p + ".conv1", x, stride)))
            y = bn(p + ".bn2", conv(sd, p + ".conv2", y, 1))
            if b == 0 and i > 0:
                x = bn(p + ".shortcut.1", conv(sd, p + ".shortcut.0", x, stride))
            x = F.relu(y + x)
    return x


def resize_nearest(mask, size):
    """F.interpolate(mode="nearest") index rule: floor(i * (in / out)) in
    float32 arithmetic, clamped to the last input frame."""
    n = mask.shape[-1]
    if n == size:
        return mask
    scale = np.float32(n) / np.float32(size)
    idx = np.floor(np.arange(size, dtype=np.float32) * scale).astype(np.int64)
    return mask[..., np.minimum(idx, n - 1)]


def stats_pool(frames, weights):
    """frames: (rows, T); weights: (T,) -> (2 * rows,) weighted mean and
    unbiased weighted std, each denominator guarded by 1e-8 as pyannote 3.1."""
    w = weights[None, :]
    v1 = w.sum() + POOL_EPS
    mean = (frames * w).sum(dim=1) / v1
    v2 = (w * w).sum()
    var = ((frames - mean[:, None]) ** 2 * w).sum(dim=1) / (v1 - v2 / v1 + POOL_EPS)
    return torch.cat([mean, var.sqrt()])


def forward(sd, waveform, masks):
    """Embeddings of one chunk (1-D waveform) for each mask (n_masks, F):
    (n_masks, 256) float64."""
    x = trunk(sd, features(waveform)[None, None])
    rows = x.reshape(-1, x.shape[-1])
    out = []
    for m in np.atleast_2d(masks):
        w = torch.from_numpy(resize_nearest(np.asarray(m, dtype=np.float32), rows.shape[1]))
        stats = stats_pool(rows, w.double())
        out.append(sd["resnet.seg_1.weight"].double() @ stats + sd["resnet.seg_1.bias"].double())
    return torch.stack(out)


# ---- test data ---------------------------------------------------------------


def speech_like(rng, n, amplitude):
    """Harmonic bursts of varying pitch and length under envelopes, plus noise."""
    t = np.arange(n) / SAMPLE_RATE
    x = 0.01 * rng.standard_normal(n)
    for _ in range(rng.integers(3, 8)):
        start = rng.uniform(0, max(t[-1] - 0.2, 1e-3))
        length = rng.uniform(0.1, 2.5)
        f0 = rng.uniform(90, 300)
        env = np.clip((t - start) / 0.03, 0, 1) * np.clip((start + length - t) / 0.03, 0, 1)
        burst = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5))
        x += rng.uniform(0.2, 1.0) * env * burst
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


def make_masks(rng, frames):
    """Binary activity runs, fractional weights, all zero, all one, a lone
    active frame (may vanish when resized), soft overlap-like weights."""
    masks = np.zeros((6, frames), dtype=np.float32)
    pos = 0
    while pos < frames:
        run = int(rng.integers(5, 60))
        masks[0, pos: pos + run] = float(rng.integers(0, 2))
        pos += run
    masks[1] = rng.uniform(0, 1, frames).astype(np.float32)
    masks[3] = 1.0
    masks[4, frames // 3] = 1.0
    masks[5] = (masks[0] * 0.5 + (rng.uniform(0, 1, frames) > 0.7) * 0.25).astype(np.float32)
    return masks


CHUNKS = (  # name, samples, amplitude, mask frames
    ("c10", 10 * SAMPLE_RATE, 0.6, MASK_FRAMES),
    ("c3", 3 * SAMPLE_RATE + 37, 0.05, 177),
    ("cshort", MIN_SAMPLES + 3 * SHIFT + 11, 0.3, 7),
)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    sd = random_state_dict(7)
    hyper = {"sample_rate": SAMPLE_RATE, "num_channels": 1}
    save_checkpoint(os.path.join(outdir, "emb.ckpt"), sd, hyper)
    bad = dict(sd)
    del bad["resnet.layer3.2.bn1.running_var"]
    save_checkpoint(os.path.join(outdir, "bad_missing.ckpt"), bad, hyper)
    bad = dict(sd)
    bad["resnet.layer2.0.shortcut.0.weight"] = torch.zeros(64, 32, 3, 3)
    save_checkpoint(os.path.join(outdir, "bad_shape.ckpt"), bad, hyper)

    rng = np.random.default_rng(11)
    with open(os.path.join(outdir, "chunks.txt"), "w") as listing:
        for name, n, amp, mframes in CHUNKS:
            wav = speech_like(rng, n, amp)
            masks = make_masks(rng, mframes)
            write_raw(os.path.join(outdir, name + ".f32"), wav)
            write_raw(os.path.join(outdir, name + "_masks.f32"), masks)
            with torch.no_grad():
                write_raw(os.path.join(outdir, name + "_fbank.f32"), features(wav))
                write_raw(os.path.join(outdir, name + "_emb.f32"), forward(sd, wav, masks))
            listing.write(f"{name} {n} {masks.shape[0]} {mframes}\n")


# ---- self-check ----------------------------------------------------------------


def numpy_fbank(wav):
    """The Kaldi recipe again, independently, in NumPy loops."""
    x = wav.astype(np.float64) * 32768.0
    n = 1 + (len(x) - WIN) // SHIFT
    win = np.hamming(WIN)  # 0.54 - 0.46 cos(2 pi k / (N - 1))
    lo, hi = mel(LOW_HZ), mel(SAMPLE_RATE / 2)
    centres = lo + (hi - lo) / (MELS + 1) * np.arange(MELS + 2)
    out = np.empty((n, MELS))
    for i in range(n):
        fr = x[i * SHIFT: i * SHIFT + WIN].copy()
        fr -= fr.mean()
        fr = np.concatenate([[fr[0] * (1 - PREEMPH)], fr[1:] - PREEMPH * fr[:-1]])
        p = np.abs(np.fft.rfft(fr * win, NFFT)) ** 2
        for m in range(MELS):
            acc = 0.0
            for k in range(NFFT // 2):
                f = mel(k * SAMPLE_RATE / NFFT)
                if centres[m] < f < centres[m + 2]:
                    if f <= centres[m + 1]:
                        acc += p[k] * (f - centres[m]) / (centres[m + 1] - centres[m])
                    else:
                        acc += p[k] * (centres[m + 2] - f) / (centres[m + 2] - centres[m + 1])
            out[i, m] = math.log(max(acc, FLT_EPS))
    return out


def selfcheck():
    rng = np.random.default_rng(5)
    wav = speech_like(rng, SAMPLE_RATE // 2, 0.4)
    ours = fbank(wav).numpy()
    try:
        import torchaudio.compliance.kaldi as kaldi
        theirs = kaldi.fbank(torch.from_numpy(wav)[None] * 32768, num_mel_bins=MELS,
                             frame_length=25, frame_shift=10, dither=0.0,
                             sample_frequency=SAMPLE_RATE, window_type="hamming",
                             use_energy=False).double().numpy()
        what = "torchaudio"
    except ImportError:
        theirs = numpy_fbank(wav[: WIN + 20 * SHIFT])
        ours = ours[: theirs.shape[0]]
        what = "numpy"
    ferr = np.abs(ours - theirs).max() / np.abs(theirs).max()
    print(f"fbank vs {what}: max|ref-other|/max|other| = {ferr:.3g}")

    sd = random_state_dict(3)
    model = Embedding()
    model.load_state_dict(sd, strict=True)  # also checks every tensor name
    model.eval()
    wav = speech_like(rng, 2 * SAMPLE_RATE, 0.5)
    masks = make_masks(rng, 118)
    with torch.no_grad():
        x = features(wav)
        ours = forward(sd, wav, masks)
        tr = model.resnet.trunk(x.float()[None, None])
        rows = tr.reshape(-1, tr.shape[-1])
        w = F.interpolate(torch.from_numpy(masks)[None], size=rows.shape[1], mode="nearest")[0]
        assert np.array_equal(w.numpy(), resize_nearest(masks, rows.shape[1]))
        v1 = w.sum(dim=1, keepdim=True) + POOL_EPS
        mean = rows @ w.T / v1.T
        dx2 = (rows[None] - mean.T[:, :, None]) ** 2
        var = (dx2 * w[:, None, :]).sum(dim=2) / (v1 - (w * w).sum(dim=1, keepdim=True) / v1
                                                 + POOL_EPS)
        theirs = model.resnet.seg_1(torch.cat([mean.T, var.sqrt()], dim=1)).double()
    err = (ours - theirs).abs().max() / theirs.abs().max()
    print(f"embeddings vs torch float32 modules: {err:.3g}; trunk {tuple(tr.shape)},"
          f" |trunk| max {tr.abs().max():.3g} mean {tr.abs().mean():.3g}")
    assert ferr < 1e-6 and err < 1e-4
    print("selfcheck ok")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--selfcheck":
        selfcheck()
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__)
