"""Run directories: :class:`TrainResult`, its atomic save, :func:`check_run_dir`,
:func:`hold_run_dir` (one writer at a time) and :func:`load_run`.

A run directory holds ``report.json``, ``model.pt`` (a plain state dict plus a
config dict of primitives) and ``ternary.npz``. Each file is written to a
temporary file beside it and renamed into place, so a reader never sees half
a file.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from accelerators import InputError, LayerTensor, save_ternary_npz
from accelerators._files import read_json

from .bridge import ternary_layers
from .files import atomic_path, check_writable_dir, flocked, load_weights, missing_dirs
from .training_config import TrainConfig

__all__ = ["RUN_FILES", "TrainResult", "check_run_dir", "hold_run_dir", "load_run"]

RUN_FILES = ("report.json", "model.pt", "ternary.npz")
FORMAT = "codesign-run/1"


@dataclass
class TrainResult:
    """A finished run: the report dict, the trained model and its ternary layers."""

    report: dict
    model: nn.Module = field(repr=False)
    layers: list[LayerTensor] = field(repr=False)
    config: TrainConfig | None = None
    input_shape: tuple[int, int, int] | None = None
    n_classes: int = 10

    def save(self, run_dir: str | os.PathLike, overwrite: bool = False) -> None:
        """Write ``report.json``, ``model.pt`` and ``ternary.npz`` into ``run_dir``, atomically.

        Refuses (``InputError``, nothing written) if ``run_dir`` holds another
        run, unless ``overwrite``. The report is written last: a run with a
        report is complete.
        """
        run_dir = os.fspath(run_dir)
        check_run_dir(run_dir, overwrite)
        os.makedirs(run_dir, exist_ok=True)
        ckpt = {
            "format": FORMAT,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "config": self.config.to_dict() if self.config else {},
            "input_shape": list(self.input_shape or ()),
            "n_classes": int(self.n_classes),
        }
        # every file is written to a temporary name first and the three are renamed
        # only when all are complete (report.json last): a full disk or a crash while
        # writing leaves the old run exactly as it was, never a mix of old and new
        buf = io.BytesIO()
        torch.save(ckpt, buf)  # in memory: torch's writer fails on a short write with a
        # RuntimeError, Python's file write with the OSError that names the disk problem
        try:
            self._write(run_dir, buf, self.report, self.layers)
        except OSError as exc:
            raise InputError.plain(
                f"run {run_dir!r} could not be written ({exc.strerror or exc}); "
                "what it held before is unchanged"
            ) from None

    @staticmethod
    def _write(run_dir: str, buf: io.BytesIO, report_dict: dict, layers) -> None:
        with contextlib.ExitStack() as stack:
            report, npz, model = (
                stack.enter_context(atomic_path(os.path.join(run_dir, name), suffix=suffix))
                for name, suffix in (("report.json", ""), ("ternary.npz", ".npz"), ("model.pt", ""))
            )
            with open(model, "wb") as f:
                f.write(buf.getbuffer())
            save_ternary_npz(npz, layers)
            with open(report, "w") as f:
                json.dump(report_dict, f, indent=2)
                f.write("\n")


def check_run_dir(run_dir: str | os.PathLike, overwrite: bool = False) -> None:
    """Raise ``InputError`` unless a run can be written to ``run_dir``.

    Refused: a file in its place, a directory that cannot be created or
    written, or one that holds a run already (unless ``overwrite``).
    """
    run_dir = os.fspath(run_dir)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise InputError.plain(f"output {run_dir!r} is a file, not a run directory")
    check_writable_dir(run_dir)
    held = [f for f in RUN_FILES if os.path.exists(os.path.join(run_dir, f))]
    if held and not overwrite:
        raise InputError.plain(
            f"{run_dir!r} already holds a run ({', '.join(held)}); pass --overwrite to replace it"
        )


@contextlib.contextmanager
def hold_run_dir(run_dir: str | os.PathLike):
    """Hold ``run_dir`` for this process alone while the block runs (train, then save).

    An exclusive ``flock`` on the directory itself (created if need be): the kernel drops
    it when the process ends, however it ends (``kill -9`` too), and it leaves no file
    behind. A second ``codesign train`` into the same directory is refused at once, before
    it trains, instead of both renaming their files into it. Directories this call created
    are removed again if the block leaves them empty (a failed or interrupted training).
    """
    shown = os.fspath(run_dir)
    run_dir = os.path.abspath(shown)
    created = missing_dirs(run_dir)
    try:
        os.makedirs(run_dir, exist_ok=True)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(flocked(run_dir, wait=False))
            except BlockingIOError:
                raise InputError.plain(
                    f"run directory {shown!r} is being written by another codesign "
                    "train right now; wait for it to finish or choose another --out"
                ) from None
            yield
    finally:
        for d in created:  # deepest first; a directory holding the new run stays
            with contextlib.suppress(OSError):
                os.rmdir(d)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def load_run(run_dir: str | os.PathLike) -> TrainResult:
    """Load a run directory written by :meth:`TrainResult.save` (corrupt -> ``InputError``)."""
    from .models import build_model
    from .onnx_model import model_for_config

    run_dir = os.fspath(run_dir)
    path = os.path.join(run_dir, "model.pt")
    if not os.path.isfile(path):
        raise InputError.plain(f"no checkpoint: expected {path!r}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise InputError.plain(
            f"checkpoint {path!r} is corrupt or not a codesign run: {_first_line(exc)}"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InputError.plain(f"checkpoint {path!r} is not a codesign run (format {FORMAT})")
    try:
        config = TrainConfig.from_dict(ckpt["config"])
        shape = tuple(int(v) for v in ckpt["input_shape"])
        n_classes = int(ckpt["n_classes"])
        if config.onnx:
            model = model_for_config(config, shape, n_classes, with_weights=False)
        else:
            model = build_model(
                config.model,
                shape,
                n_classes,
                mode=config.method,
                threshold=config.threshold,
                rule=config.rule,
                hidden_units=config.hidden_units,
            )
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise InputError.plain(
            f"checkpoint {path!r} does not hold a loadable model: {_first_line(exc)}"
        ) from None
    model.eval()
    report: dict = {}
    rpath = os.path.join(run_dir, "report.json")
    if os.path.isfile(rpath):
        report = read_json(rpath, "run report")
    npz = os.path.join(run_dir, "ternary.npz")
    layers = load_weights(npz) if os.path.isfile(npz) else ternary_layers(model)
    return TrainResult(report, model, layers, config, shape, n_classes)
