"""make_models: random-weight checkpoints of pyannote/segmentation-3.0 and
pyannote/wespeaker-voxceleb-resnet34-LM at their real sizes, written as the
hub serves them (PyTorch zip checkpoints in the Lightning layout pyannote
publishes), for the engine, server and CLI tests and for bench/diarize.sh.
The real weights are gated and cannot be downloaded here.

Usage:
  make_models.py --models-dir DIR [--seed N]
      DIR/pyannote/segmentation-3.0/pytorch_model.bin and
      DIR/pyannote/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin, the
      layout `cesar models pull pyannote` installs.
  make_models.py --hub-dir DIR [--seed N]
      DIR/pyannote/<repo>/pytorch_model.bin, the tree tests/models/hub.py
      serves as /<org>/<repo>/resolve/main/<file>.
Both layouts are the same tree; the two options only say what it is for.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ref_embedding  # noqa: E402
import ref_segmentation  # noqa: E402
from checkpoint import save_checkpoint  # noqa: E402

SEGMENTATION = "pyannote/segmentation-3.0"
EMBEDDING = "pyannote/wespeaker-voxceleb-resnet34-LM"
FILE = "pytorch_model.bin"


def paths(root):
    return (os.path.join(root, SEGMENTATION, FILE), os.path.join(root, EMBEDDING, FILE))


def write_models(root, seed=1):
    seg_path, emb_path = paths(root)
    for p in (seg_path, emb_path):
        os.makedirs(os.path.dirname(p), exist_ok=True)
    save_checkpoint(seg_path, ref_segmentation.random_state_dict(seed))
    save_checkpoint(emb_path, ref_embedding.random_state_dict(seed + 1))
    return seg_path, emb_path


def main():
    ap = argparse.ArgumentParser()
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--models-dir")
    group.add_argument("--hub-dir")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    for p in write_models(a.models_dir or a.hub_dir, a.seed):
        print(p)


if __name__ == "__main__":
    main()
