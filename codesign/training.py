"""Three-stage sparse ternary training and its baselines: the loop, :func:`train` and the report.

(The config is :mod:`codesign.training_config`, importable without torch; run
directories are :mod:`codesign.runs`; both are re-exported here.)

Stages (one code path for every method):

1. ``train`` (``epochs``): cross-entropy + ``(l2 / 2) * sum w^2`` and, for
   ``sparse-ternary`` only, ``reg_strength * R`` (the quantization threshold
   regularizer of :mod:`codesign.regularizer`; under ``reg_update = "proximal"``
   applied as a shrinkage after each Adam step instead) with per-layer (or per-row,
   or per-weight) coefficients from a :class:`codesign.feedback.CostProvider`, asked once per
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
measured on the data set's test split after every epoch (and on the
validation split, when ``val_fraction > 0``: report ``val_accuracy``).

Device: ``config.device`` (``auto`` = CUDA when available). The model and the
data live on it; the hardware simulator and the cost provider stay on the
CPU (they get numpy tensors from :func:`codesign.bridge.ternary_layers`).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from accelerators import InputError

from .bridge import ternary_layers
from .data import Dataset, load_dataset, split_validation
from .feedback import CostProvider, UniformCost
from .layers import quant_layers
from .models import build_model
from .regularizer import add_capture_grad_, prox_capture_
from .runs import RUN_FILES, TrainResult, check_run_dir, load_run
from .sizes import weight_sizes
from .training_config import DEVICES, METHODS, THRESHOLD_RULES, TrainConfig

__all__ = [
    "DEVICES",
    "METHODS",
    "RUN_FILES",
    "THRESHOLD_RULES",
    "TrainConfig",
    "TrainResult",
    "check_run_dir",
    "load_run",
    "resolve_device",
    "train",
]

_SIZE_KEY = {
    "fp32": "fp32",
    "binary": "binary",
    "ternary": "ternary",
    "sparse-ternary": "sparse_ternary",
}


# --- training -------------------------------------------------------------------------


def _sparsity(model: nn.Module) -> float:
    layers = [m for _, m in quant_layers(model)]
    total = sum(m.weight.numel() for m in layers)
    return 1.0 - sum(m.nnz for m in layers) / total


def resolve_device(device: str) -> torch.device:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cuda`` without CUDA -> ``InputError``."""
    if device not in DEVICES:
        raise InputError("device", device, " | ".join(DEVICES))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device", "cuda", "cpu or auto: no CUDA device is available here")
    return torch.device(device)


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

    def __init__(
        self, config: TrainConfig, model: nn.Module, data: Dataset, provider, progress, device
    ):
        self.cfg, self.model, self.data = config, model, data
        self.provider: CostProvider = provider
        self.progress = progress
        self.device = device
        n = config.train_limit or len(data.x_train)
        x, y, xv, yv = split_validation(data.x_train[:n], data.y_train[:n], config.val_fraction)
        if len(x) < 2:  # batch norm cannot train on one example
            raise InputError(
                "train_limit",
                config.train_limit,
                f"0 (all) or enough examples to leave 2 for training (here {len(x)})",
            )
        self.x, self.y = x.to(device), y.to(device)
        self.x_val, self.y_val = xv.to(device), yv.to(device)
        self.x_test, self.y_test = data.x_test.to(device), data.y_test.to(device)
        self.sample = self.x_test[:256]
        self.val_accuracy: float | None = None
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
            cols = layer.weight[0].numel()
            arr = np.asarray(c, dtype=np.float64)
            if arr.ndim == 0:
                value: float | torch.Tensor = float(arr)
            elif arr.shape in ((rows,), (rows, cols)):
                value = torch.as_tensor(arr, dtype=torch.float32, device=self.device)
            else:
                raise InputError(
                    f"coefficients[{name!r}]",
                    arr.shape,
                    f"a float or an array of shape ({rows},) or ({rows}, {cols})",
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
                "val_accuracy": self.val_accuracy,
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
        pull = regularize and strength and self.cfg.reg_update == "gradient"
        for name, m in self.layers:
            g = m.weight.grad
            if self.cfg.l2:
                g.add_(m.weight, alpha=self.cfg.l2)
            if pull and m.last_delta is not None:
                add_capture_grad_(
                    g, m.weight, m.last_delta, self.cfg.capture, self.coeffs[name], strength
                )
            g.mul_(m.mask)

    @torch.no_grad()
    def _proximal_step(self, regularize: bool, lr: float) -> None:
        """Under ``reg_update = "proximal"``: shrink the zone's weights by ``lr * strength * c``."""
        strength = self.cfg.reg_strength * self.strength_scale
        if not (regularize and strength and self.cfg.reg_update == "proximal"):
            return
        for name, m in self.layers:
            if m.last_delta is not None:
                prox_capture_(
                    m.weight, m.last_delta, self.cfg.capture, self.coeffs[name], lr * strength
                )

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
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size].to(self.device)
                if len(idx) < 2 and n_batches > 1:
                    continue  # batch norm needs two examples
                # the forward pass sets each layer's last_delta, used by the regularizer
                loss = nn.functional.cross_entropy(model(self.x[idx]), self.y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                self._add_penalty_grads(regularize)
                lr = opt.param_groups[0]["lr"]
                opt.step()
                self._proximal_step(regularize, lr)
                sched.step()
                for _, m in self.layers:
                    m.apply_mask_()
                self.step += 1
            self._evaluate()
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
        self._evaluate()
        return self._stage_record("prune", 0, t0)

    def _evaluate(self) -> None:
        self.accuracy = _accuracy(self.model, self.x_test, self.y_test)
        if len(self.x_val):
            self.val_accuracy = _accuracy(self.model, self.x_val, self.y_val)

    def _stage_record(self, name: str, epochs: int, t0: float) -> dict:
        if self.accuracy is None:
            self._evaluate()
        return {
            "name": name,
            "epochs": epochs,
            "accuracy": self.accuracy,
            "val_accuracy": self.val_accuracy,
            "sparsity": _sparsity(self.model),
            "wall_s": time.perf_counter() - t0,
        }


def train(
    config: TrainConfig,
    cost_provider: CostProvider | None = None,
    progress: bool = False,
    model: nn.Module | None = None,
) -> TrainResult:
    """Train ``config.method`` on ``config.dataset``; see the module docstring for the stages.

    ``cost_provider`` (default :class:`UniformCost`) sets the regularizer's
    coefficients (``sparse-ternary`` only). ``progress`` shows a tqdm bar per
    epoch on stderr. ``model``: your own ``torch.nn.Module`` instead of
    ``config.model`` / ``config.onnx``: its ``nn.Linear`` / ``nn.Conv2d`` layers
    are replaced by ternary ones (weights copied; see
    :func:`codesign.onnx_import.ternarize_module`); it must take the data
    set's (N, C, H, W) images.
    """
    from .onnx_model import model_for_config, ternarize_module

    t0 = time.perf_counter()
    device = resolve_device(config.device)
    data = load_dataset(config.dataset, config.data_dir)
    torch.manual_seed(config.seed)
    if model is not None:
        net = ternarize_module(model, config.method, config.threshold, config.rule)
    elif config.onnx:
        net = model_for_config(config, data.input_shape, data.n_classes)
    else:
        net = build_model(
            config.model,
            data.input_shape,
            data.n_classes,
            mode=config.method,
            threshold=config.threshold,
            rule=config.rule,
            hidden_units=config.hidden_units,
        )
    net = net.to(device)
    provider = cost_provider or UniformCost()
    trainer = _Trainer(config, net, data, provider, progress, device)
    sparse = config.method == "sparse-ternary"
    stages = [trainer.run_stage("train", config.epochs, regularize=sparse)]
    if sparse:
        stages.append(trainer.prune())
    stages.append(trainer.run_stage("retrain", config.retrain_epochs, regularize=False))
    layers = ternary_layers(net, trainer.sample)
    report = _report(config, provider, trainer, stages, layers, time.perf_counter() - t0)
    report["device"] = device.type
    if model is not None:
        report["model"] = f"module:{type(model).__name__}"
    elif config.onnx:
        report["model"] = f"onnx:{os.path.basename(config.onnx)}"
    return TrainResult(report, net, layers, config, data.input_shape, data.n_classes)


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
        "val_accuracy": trainer.val_accuracy,
        "n_val": len(trainer.x_val),
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
