"""ref_pipeline: the whole pyannote speaker-diarization-3.1 pipeline as a
reference for the C engine (src/diarize/pyannote_engine.c), assembled from
the tests' own references of its parts: ref_segmentation (PyanNet),
ref_embedding (WeSpeaker ResNet34), ref_cluster (clustering and
reconstruction). The glue follows pyannote.audio 3.1's SpeakerDiarization:

  - sliding windows of 10 s every STEP: full windows while they fit, then
    one zero-padded last window when the audio does not end on a step (or
    is shorter than a window), as Inference.slide;
  - powerset -> multilabel by argmax (the binarized segmentation);
  - per (window, local speaker) with any active frame, an embedding of the
    window's audio weighted by the speaker's frames without overlap when
    more than min_num_frames = ceil(frames * min_num_samples / window
    samples) of them remain, else all its frames (get_embeddings with
    embedding_exclude_overlap);
  - clustering, then reconstruction into turns.

Usage: ref_pipeline.py OUTDIR WAV SECONDS STEP
  writes OUTDIR/models/pyannote/... (random-weight checkpoints, seed 3),
  OUTDIR/audio.f32 (the first SECONDS of WAV as 16 kHz float32, decoded by
  ffmpeg: the C test reads these same samples), OUTDIR/turns_num0.txt (default
  clustering) and OUTDIR/turns_num2.txt (exactly two speakers) ("start end
  speaker" per line, speakers numbered by first appearance as the C engine
  reports them) and OUTDIR/summary.txt.
"""
import math
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_models  # noqa: E402
import ref_cluster  # noqa: E402
import ref_embedding  # noqa: E402
import ref_segmentation  # noqa: E402

RATE = 16000
WINDOW = 10 * RATE


def decode(wav, seconds):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", wav, "-t", str(seconds), "-f", "f32le",
                          "-ac", "1", "-ar", str(RATE), "-"], check=True,
                         stdout=subprocess.PIPE).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def windows(audio, step):
    n = len(audio)
    full = (n - WINDOW) // step + 1 if n >= WINDOW else 0
    last = n < WINDOW or (n - WINDOW) % step > 0
    out = []
    for c in range(full + (1 if last else 0)):
        w = np.zeros(WINDOW, dtype=np.float32)
        part = audio[c * step:c * step + WINDOW]
        w[:len(part)] = part
        out.append(w)
    return np.stack(out)


def masks_for(binary, min_frames):
    """(frames, 3) binary -> [(speaker, mask)] for the active speakers."""
    clean = binary.sum(axis=1) < 2
    out = []
    for s in range(binary.shape[1]):
        m = binary[:, s].astype(np.float32)
        if m.sum() == 0:
            continue
        c = m * clean
        out.append((s, c if c.sum() > min_frames else m))
    return out


def scores(seg_sd, emb_sd, audio, step):
    """The binarized segmentation (C, F, 3) and embeddings (C, 3, 256)."""
    wins = windows(audio, step)
    with torch.no_grad():
        logp = ref_segmentation.forward(seg_sd, wins).numpy()
    binary = ref_segmentation.to_multilabel(logp)          # (C, F, 3)
    n_chunks, frames, local = binary.shape
    min_frames = math.ceil(frames * ref_embedding.MIN_SAMPLES / WINDOW)
    emb = np.full((n_chunks, local, 256), np.nan)
    for c in range(n_chunks):
        ms = masks_for(binary[c], min_frames)
        if not ms:
            continue
        with torch.no_grad():
            e = ref_embedding.forward(emb_sd, torch.from_numpy(wins[c]).double(),
                                      np.stack([m for _, m in ms])).numpy()
        for (s, _), row in zip(ms, e):
            emb[c, s] = row
    return binary, emb


def turns_for(binary, emb, step, seconds, num_speakers=0):
    """Clustering (num_speakers > 0: exactly that many) and reconstruction."""
    active = binary.sum(axis=1) > 0
    p = ref_cluster.default_params()
    p["num_clusters"] = num_speakers
    hard = ref_cluster.cluster(emb, active, p)
    tp = ref_cluster.default_timeline()
    tp["chunk_step"] = step / RATE
    tp["max_speakers"] = num_speakers
    return renumber(ref_cluster.reconstruct(binary, hard, tp, seconds)), hard


def renumber(turns):
    """Sorted by (start, end, speaker); speakers renamed 0, 1 ... by first
    appearance, as diarize_run reports them."""
    turns = sorted(turns, key=lambda t: (t[0], t[1], t[2]))
    names = {}
    out = []
    for s, e, k in turns:
        if k not in names:
            names[k] = len(names)
        out.append((s, e, names[k]))
    return sorted(out, key=lambda t: (t[0], t[1], t[2]))


def main():
    outdir, wav, seconds, step = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(2)
    make_models.write_models(os.path.join(outdir, "models"), seed=3)
    seg_sd = ref_segmentation.random_state_dict(3)  # what write_models saved
    emb_sd = ref_embedding.random_state_dict(4)
    audio = decode(wav, seconds)
    audio.tofile(os.path.join(outdir, "audio.f32"))
    step_n = int(round(step * RATE))
    binary, emb = scores(seg_sd, emb_sd, audio, step_n)
    with open(os.path.join(outdir, "summary.txt"), "w") as summary:
        for num in (0, 2):
            turns, hard = turns_for(binary, emb, step_n, len(audio) / RATE, num)
            with open(os.path.join(outdir, f"turns_num{num}.txt"), "w") as f:
                for s, e, k in turns:
                    f.write(f"{s:.9f} {e:.9f} {k}\n")
            summary.write(f"num_speakers {num}: chunks {binary.shape[0]} active_pairs "
                          f"{int((hard >= 0).sum())} clusters {int(hard.max()) + 1} "
                          f"turns {len(turns)}\n")


if __name__ == "__main__":
    main()
