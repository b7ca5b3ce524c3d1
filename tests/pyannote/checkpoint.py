"""Writes checkpoints shaped like the ones the Hugging Face hub serves for
pyannote models (pytorch_model.bin of pyannote/segmentation-3.0 and
pyannote/wespeaker-voxceleb-resnet34-LM), so tests can exercise the C
reader (src/ckpt) on random weights without downloading anything.

Layout of such a file: torch.save (zip format, torch >= 1.6) of a
Lightning checkpoint dict

    {"epoch": int, "global_step": int, "pytorch-lightning_version": str,
     "state_dict": OrderedDict(name -> tensor),       # what src/ckpt reads
     "hyper_parameters": {...},                        # model constructor args
     "pyannote.audio": {"versions": {...},
                        "architecture": {"module": ..., "class": ...},
                        "specifications": Specifications(...)},
     "callbacks": {}, "optimizer_states": [], "lr_schedulers": []}

"specifications" is an instance of pyannote.audio.core.task.Specifications
(a dataclass holding Enum members such as Problem.MONO_LABEL_CLASSIFICATION),
so the pickle holds GLOBALs of classes the C reader does not know: it must
keep them as opaque values. A stand-in module is registered in sys.modules
under that name here, so the pickle names the same globals as the real
files without pyannote.audio being installed.

Usage as a module: save_checkpoint(path, state_dict, hyper_parameters=None);
write_raw(path, array, dtype=float32) for the headerless arrays the C tests
read next to those checkpoints (their fread of n floats).
"""
import collections
import dataclasses
import enum
import sys
import types

import numpy as np
import torch

TASK_MODULE = "pyannote.audio.core.task"


def _task_module():
    """The fake pyannote.audio.core.task module (created once)."""
    if TASK_MODULE in sys.modules:
        return sys.modules[TASK_MODULE]
    mod = types.ModuleType(TASK_MODULE)

    class Problem(enum.Enum):
        BINARY_CLASSIFICATION = 0
        MONO_LABEL_CLASSIFICATION = 1
        MULTI_LABEL_CLASSIFICATION = 2
        REPRESENTATION = 3
        REGRESSION = 4

    class Resolution(enum.Enum):
        FRAME = 1
        CHUNK = 2

    @dataclasses.dataclass
    class Specifications:
        problem: Problem
        resolution: Resolution
        duration: float
        min_duration: float = None
        warm_up: tuple = (0.0, 0.0)
        classes: list = None
        powerset_max_classes: int = None
        permutation_invariant: bool = False

    for cls in (Problem, Resolution, Specifications):
        cls.__module__ = TASK_MODULE
        cls.__qualname__ = cls.__name__
        setattr(mod, cls.__name__, cls)
    for parent in ("pyannote", "pyannote.audio", "pyannote.audio.core"):
        sys.modules.setdefault(parent, types.ModuleType(parent))
    sys.modules[TASK_MODULE] = mod
    return mod


def specifications(powerset=True):
    """A Specifications object like segmentation-3.0's."""
    task = _task_module()
    return task.Specifications(
        problem=task.Problem.MONO_LABEL_CLASSIFICATION if powerset
        else task.Problem.MULTI_LABEL_CLASSIFICATION,
        resolution=task.Resolution.FRAME,
        duration=10.0,
        min_duration=None,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2 if powerset else None,
        permutation_invariant=True)


def lightning_dict(state_dict, hyper_parameters=None,
                   architecture=("pyannote.audio.models.segmentation", "PyanNet")):
    return {
        "epoch": 0,
        "global_step": 0,
        "pytorch-lightning_version": "1.9.0",
        "state_dict": collections.OrderedDict(state_dict),
        "hyper_parameters": dict(hyper_parameters or {}),
        "pyannote.audio": {
            "versions": {"torch": torch.__version__, "pyannote.audio": "3.1.0"},
            "architecture": {"module": architecture[0], "class": architecture[1]},
            "specifications": specifications(),
        },
        "callbacks": {},
        "optimizer_states": [],
        "lr_schedulers": [],
    }


def save_checkpoint(path, state_dict, hyper_parameters=None,
                    architecture=("pyannote.audio.models.segmentation", "PyanNet")):
    """torch.save of a Lightning checkpoint holding state_dict."""
    torch.save(lightning_dict(state_dict, hyper_parameters, architecture), path)


def write_raw(path, array, dtype=np.float32):
    """The array's elements, C order, native endianness, no header."""
    np.ascontiguousarray(array, dtype=dtype).tofile(path)


if __name__ == "__main__":
    sd = collections.OrderedDict(w=torch.randn(3, 2), b=torch.zeros(3))
    save_checkpoint(sys.argv[1] if len(sys.argv) > 1 else "/tmp/checkpoint_demo.ckpt", sd,
                    {"sample_rate": 16000})
