"""Three-stage sparse ternary training, its baselines, the run report and run directories.

Stages (one code path for every method):

1. ``train`` (``epochs``): cross-entropy + ``(l2 / 2) * sum w^2`` and, for
   ``sparse-ternary`` only, ``reg_strength * R`` (the quantization threshold
   regularizer of :mod:`codesign.regularizer`) with per-layer (or per-row)
   coefficients from a :class:`codesign.feedback.CostProvider`, asked once per
   feedback period (every epoch, or every ``provider.period_steps`` optimizer steps).
2. ``prune`` (``sparse-ternary`` only): weights that quantize to 0 are masked for good.
3. ``retrain`` (``retrain_epochs``): the same loss without the regularizer;
   masked weights get no gradient and stay exactly 0. Baselines run this stage
   too (continued training with a fresh schedule), so every method sees
   ``epochs + retrain_epochs`` passes over the data.

Methods: ``fp32`` (float weights), ``binary`` (BinaryConnect), ``ternary``
(dense TWN-style: ternary quantization, no regularizer, no pruning) and
``sparse-ternary`` (the three stages). Each stage uses a fresh Adam optimizer
with a cosine learning-rate decay from ``lr`` to 0 over the stage. Accuracy is
measured on the data set's test split after every epoch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from accelerators import InputError, LayerTensor, load_ternary_npz, save_ternary_npz

from .bridge import ternary_layers
from .data import DATASETS, Dataset, load_dataset
from .feedback import CostProvider, UniformCost
from .layers import quant_layers
from .models import MODELS, build_model
from .regularizer import add_capture_grad_
from .sizes import weight_sizes

__all__ = ["METHODS", "TrainConfig", "TrainResult", "train", "load_run", "check_run_dir"]

METHODS = ("fp32", "binary", "ternary", "sparse-ternary")
THRESHOLD_RULES = ("auto", "max", "twn")
RUN_FILES = ("report.json", "model.pt", "ternary.npz")
_SIZE_KEY = {
    "fp32": "fp32",
    "binary": "binary",
    "ternary": "ternary",
    "sparse-ternary": "sparse_ternary",
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (same config + seed -> same report on the CPU).

    ``threshold`` is the fraction ``t`` of ``max|W|`` under the ``max`` rule;
    ``threshold_rule="auto"`` means ``twn`` (0.7 mean|W|) for the dense
    ``ternary`` baseline and ``max`` for ``sparse-ternary``. ``capture`` is the
    capture zone in units of the threshold; ``reg_strength`` and ``l2`` are
    loss weights (dimensionless per unit weight). ``train_limit`` keeps only the
    first N training examples (0 = all). ``n_pe`` and ``index_bits`` set the
    sparse encoding used for size accounting.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    model: str = "lfc"
    hidden_units: tuple[int, ...] = (256, 256)
    method: str = "sparse-ternary"
    epochs: int = 10
    retrain_epochs: int = 5
    reg_strength: float = 1e-3
    capture: float = 10.0
    threshold: float = 0.05
    threshold_rule: str = "auto"
    l2: float = 1e-5
    lr: float = 1e-3
    batch_size: int = 100
    seed: int = 0
    train_limit: int = 0
    n_pe: int = 64
    index_bits: int = 7

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_units", tuple(int(h) for h in self.hidden_units))
        choices = {
            "dataset": DATASETS,
            "model": MODELS,
            "method": METHODS,
            "threshold_rule": THRESHOLD_RULES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise InputError(name, getattr(self, name), " | ".join(allowed))
        for name in ("epochs", "retrain_epochs", "seed", "train_limit"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InputError(name, v, "an integer >= 0")
        for name in ("batch_size", "n_pe"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(name, v, "an integer >= 1")
        if not isinstance(self.index_bits, int) or not 1 <= self.index_bits <= 16:
            raise InputError("index_bits", self.index_bits, "an integer in 1..16")
        if not self.hidden_units or min(self.hidden_units) < 1:
            raise InputError("hidden_units", self.hidden_units, "one or more widths >= 1")
        for name in ("reg_strength", "l2", "capture"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise InputError(name, v, "a finite number >= 0")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise InputError("lr", self.lr, "a finite number > 0")
        if not math.isfinite(self.threshold) or not 0 <= self.threshold < 1:
            raise InputError("threshold", self.threshold, "a fraction of max|W| in [0, 1)")

    @property
    def rule(self) -> str:
        """The threshold rule actually used (``auto`` resolved)."""
        if self.threshold_rule != "auto":
            return self.threshold_rule
        return "twn" if self.method == "ternary" else "max"

    def to_dict(self) -> dict:
        """Primitives only (lists for tuples): JSON- and ``weights_only``-safe."""
        d = dataclasses.asdict(self)
        d["hidden_units"] = list(self.hidden_units)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError("config", unknown[0], "a TrainConfig field")
        return cls(**{k: (tuple(v) if k == "hidden_units" else v) for k, v in d.items()})


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
        """Write ``report.json``, ``model.pt`` and ``ternary.npz`` into ``run_dir``.

        Refuses (``InputError``, nothing written) if ``run_dir`` holds another
        run, unless ``overwrite``.
        """
        run_dir = os.fspath(run_dir)
        check_run_dir(run_dir, overwrite)
        os.makedirs(run_dir, exist_ok=True)
        ckpt = {
            "format": "codesign-run/1",
            "state_dict": self.model.state_dict(),
            "config": self.config.to_dict() if self.config else {},
            "input_shape": list(self.input_shape or ()),
            "n_classes": int(self.n_classes),
        }
        torch.save(ckpt, os.path.join(run_dir, "model.pt"))
        save_ternary_npz(os.path.join(run_dir, "ternary.npz"), self.layers)
        with open(os.path.join(run_dir, "report.json"), "w") as f:
            json.dump(self.report, f, indent=2)
            f.write("\n")


def check_run_dir(run_dir: str | os.PathLike, overwrite: bool = False) -> None:
    """Raise ``InputError`` if ``run_dir`` is a file or holds a run and ``overwrite`` is off."""
    run_dir = os.fspath(run_dir)
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise InputError.plain(f"output {run_dir!r} is a file, not a run directory")
    held = [f for f in RUN_FILES if os.path.exists(os.path.join(run_dir, f))]
    if held and not overwrite:
        raise InputError.plain(
            f"{run_dir!r} already holds a run ({', '.join(held)}); pass --overwrite to replace it"
        )


# --- training -------------------------------------------------------------------------


def _sparsity(model: nn.Module) -> float:
    layers = [m for _, m in quant_layers(model)]
    total = sum(m.weight.numel() for m in layers)
    return 1.0 - sum(m.nnz for m in layers) / total


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    model.train(was)
    return correct / len(x)


class _Trainer:
    """Runs the stages on one model and records what happened."""

    def __init__(self, config: TrainConfig, model: nn.Module, data: Dataset, provider, progress):
        self.cfg, self.model, self.data = config, model, data
        self.provider: CostProvider = provider
        self.progress = progress
        n = config.train_limit or len(data.x_train)
        self.x, self.y = data.x_train[:n], data.y_train[:n]
        self.sample = data.x_test[:256]
        self.layers = quant_layers(model)
        self.coeffs: dict[str, float | torch.Tensor] = {name: 1.0 for name, _ in self.layers}
        self.strength_scale = 1.0
        self.accuracy: float | None = None
        self.feedback: list[dict] = []
        self.step = 0

    # feedback ---------------------------------------------------------------------
    def _set_coefficients(self, coefficients: dict) -> dict[str, float]:
        means = {}
        for name, layer in self.layers:
            c = coefficients.get(name, 1.0)
            rows = layer.weight.shape[0]
            arr = np.asarray(c, dtype=np.float64)
            if arr.ndim == 0:
                value: float | torch.Tensor = float(arr)
            elif arr.shape == (rows,):
                value = torch.as_tensor(arr, dtype=torch.float32)
            else:
                raise InputError(
                    f"coefficients[{name!r}]", arr.shape, f"a float or an array of shape ({rows},)"
                )
            if not np.isfinite(arr).all() or (arr < 0).any():
                raise InputError(f"coefficients[{name!r}]", c, "finite numbers >= 0")
            self.coeffs[name] = value
            means[name] = float(arr.mean())
        return means

    def _feedback(self, epoch: int) -> None:
        fb = self.provider.feedback(ternary_layers(self.model, self.sample))
        means = self._set_coefficients(fb.coefficients)
        figures = dict(fb.figures)
        if "strength_scale" in figures:
            s = float(figures["strength_scale"])
            if not math.isfinite(s) or s < 0:
                raise InputError("strength_scale", s, "a finite number >= 0")
            self.strength_scale = s
        self.feedback.append(
            {
                "period": len(self.feedback),
                "epoch": epoch,
                "step": self.step,
                "accuracy": self.accuracy,
                "sparsity": _sparsity(self.model),
                "coefficients": means,
                **{k: (float(v) if isinstance(v, int | float) else v) for k, v in figures.items()},
            }
        )

    # one stage --------------------------------------------------------------------
    @torch.no_grad()
    def _add_penalty_grads(self, regularize: bool) -> None:
        """Add the gradients of ``(l2 / 2) sum w^2`` and ``strength * R`` to the weights' grads.

        Done by hand (:func:`add_capture_grad_`) rather than through autograd:
        the same gradient, at a fraction of the cost on large layers. Masked
        weights are 0 and get 0 from both terms.
        """
        strength = self.cfg.reg_strength * self.strength_scale
        for name, m in self.layers:
            g = m.weight.grad
            if self.cfg.l2:
                g.add_(m.weight, alpha=self.cfg.l2)
            if regularize and strength and m.last_delta is not None:
                add_capture_grad_(
                    g, m.weight, m.last_delta, self.cfg.capture, self.coeffs[name], strength
                )
            g.mul_(m.mask)

    def run_stage(self, name: str, epochs: int, regularize: bool) -> dict:
        t0 = time.perf_counter()
        cfg, model = self.cfg, self.model
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        n_batches = math.ceil(len(self.x) / cfg.batch_size)
        total = max(epochs * n_batches, 1)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
        period = getattr(self.provider, "period_steps", None)
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + len(name))
        model.train()
        for epoch in range(epochs):
            if regularize and period is None:
                self._feedback(epoch)
            order = torch.randperm(len(self.x), generator=gen)
            bar = tqdm(
                range(n_batches),
                desc=f"{name} {epoch + 1}/{epochs}",
                disable=not self.progress,
                leave=False,
                unit="batch",
            )
            for b in bar:
                if regularize and period is not None and self.step % period == 0:
                    self._feedback(epoch)
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                if len(idx) < 2 and n_batches > 1:
                    continue  # batch norm needs two examples
                # the forward pass sets each layer's last_delta, used by the regularizer
                loss = nn.functional.cross_entropy(model(self.x[idx]), self.y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                self._add_penalty_grads(regularize)
                opt.step()
                sched.step()
                for _, m in self.layers:
                    m.apply_mask_()
                self.step += 1
            self.accuracy = _accuracy(model, self.data.x_test, self.data.y_test)
            if self.progress:
                tqdm.write(
                    f"{name} epoch {epoch + 1}/{epochs}: test accuracy {100 * self.accuracy:.2f} %, "
                    f"sparsity {100 * _sparsity(model):.2f} %",
                    file=sys.stderr,
                )
        return self._stage_record(name, epochs, t0)

    def prune(self) -> dict:
        t0 = time.perf_counter()
        for _, m in self.layers:
            m.prune_()
        self.accuracy = _accuracy(self.model, self.data.x_test, self.data.y_test)
        return self._stage_record("prune", 0, t0)

    def _stage_record(self, name: str, epochs: int, t0: float) -> dict:
        if self.accuracy is None:
            self.accuracy = _accuracy(self.model, self.data.x_test, self.data.y_test)
        return {
            "name": name,
            "epochs": epochs,
            "accuracy": self.accuracy,
            "sparsity": _sparsity(self.model),
            "wall_s": time.perf_counter() - t0,
        }


def train(
    config: TrainConfig, cost_provider: CostProvider | None = None, progress: bool = False
) -> TrainResult:
    """Train ``config.method`` on ``config.dataset``; see the module docstring for the stages.

    ``cost_provider`` (default :class:`UniformCost`) sets the regularizer's
    coefficients (``sparse-ternary`` only). ``progress`` shows a tqdm bar per
    epoch on stderr.
    """
    t0 = time.perf_counter()
    data = load_dataset(config.dataset, config.data_dir)
    torch.manual_seed(config.seed)
    model = build_model(
        config.model,
        data.input_shape,
        data.n_classes,
        mode=config.method,
        threshold=config.threshold,
        rule=config.rule,
        hidden_units=config.hidden_units,
    )
    provider = cost_provider or UniformCost()
    trainer = _Trainer(config, model, data, provider, progress)
    sparse = config.method == "sparse-ternary"
    stages = [trainer.run_stage("train", config.epochs, regularize=sparse)]
    if sparse:
        stages.append(trainer.prune())
    stages.append(trainer.run_stage("retrain", config.retrain_epochs, regularize=False))
    layers = ternary_layers(model, trainer.sample)
    report = _report(config, provider, trainer, stages, layers, time.perf_counter() - t0)
    return TrainResult(report, model, layers, config, data.input_shape, data.n_classes)


def _report(config, provider, trainer, stages, layers, wall_s) -> dict:
    sizes = weight_sizes(layers, config.n_pe, config.index_bits)
    model_bits = sizes[_SIZE_KEY[config.method]]
    n_weights = sum(lt.weight.size for lt in layers)
    nnz = sum(lt.nnz for lt in layers)
    return {
        "method": config.method,
        "dataset": config.dataset,
        "model": config.model,
        "accuracy": trainer.accuracy,
        "sparsity": 1.0 - nnz / n_weights,
        "n_weights": n_weights,
        "nnz": nnz,
        "stages": stages,
        "layers": [
            {
                "name": lt.name,
                "kind": lt.kind,
                "shape": list(lt.weight.shape),
                "nnz": lt.nnz,
                "sparsity": lt.sparsity,
                "scale": lt.scale,
                "out_pixels": lt.out_pixels,
                "act_density": lt.act_density,
            }
            for lt in layers
        ],
        "size_bits": {**sizes, "model": model_bits},
        "size_kib": model_bits / 8192,
        "size_encoding": {"n_pe": config.n_pe, "index_bits": config.index_bits, "scale_bits": 32},
        "compression_vs_fp32": sizes["fp32"] / model_bits,
        "compression_vs_binary": sizes["binary"] / model_bits,
        "compression_vs_ternary": sizes["ternary"] / model_bits,
        "threshold_rule": config.rule,
        "cost_provider": getattr(provider, "name", type(provider).__name__),
        "feedback": trainer.feedback,
        "wall_s": wall_s,
        "config": config.to_dict(),
    }


# --- loading --------------------------------------------------------------------------


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def load_run(run_dir: str | os.PathLike) -> TrainResult:
    """Load a run directory written by :meth:`TrainResult.save` (corrupt -> ``InputError``)."""
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
    if not isinstance(ckpt, dict) or ckpt.get("format") != "codesign-run/1":
        raise InputError.plain(f"checkpoint {path!r} is not a codesign run (format codesign-run/1)")
    try:
        config = TrainConfig.from_dict(ckpt["config"])
        shape = tuple(int(v) for v in ckpt["input_shape"])
        model = build_model(
            config.model,
            shape,
            int(ckpt["n_classes"]),
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
        try:
            with open(rpath) as f:
                report = json.load(f)
        except (OSError, ValueError) as exc:
            raise InputError.plain(f"{rpath!r} is not valid JSON: {exc}") from None
    npz = os.path.join(run_dir, "ternary.npz")
    layers = load_ternary_npz(npz) if os.path.isfile(npz) else ternary_layers(model)
    return TrainResult(report, model, layers, config, shape, int(ckpt["n_classes"]))
