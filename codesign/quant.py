"""Ternary and binary weight quantizers: small exact ops with straight-through gradients.

A ternary quantizer maps a latent float weight tensor ``w`` to ``scale * q`` with
``q`` in {-1, 0, +1}:

- ``q_i = sign(w_i)`` when ``|w_i| > delta`` and ``0`` otherwise;
- the threshold ``delta`` is per layer, by one of two rules:
  ``"max"``: ``delta = t * max|w|`` (default ``t = 0.05``), or
  ``"twn"``: ``delta = 0.7 * mean|w|`` (Li & Liu, Ternary Weight Networks, 2016);
- ``scale`` is the mean of the surviving ``|w_i|`` (those with ``q_i != 0``), 0 when none survive.

Statistics (max, mean) are taken over the masked tensor ``w * mask`` (pruned
entries count as zeros), so pruning a weight that already quantizes to 0 does
not change ``delta`` under the ``max`` rule and can only lower it under ``twn``.

The binary quantizer (BinaryConnect style) is ``q = sign(w)`` (``sign(0) = +1``)
with ``scale = mean|w|``.

Gradients are straight-through (the identity) to ``w``; ``delta`` and ``scale``
are treated as constants in the backward pass.

>>> import torch
>>> w = torch.tensor([0.5, -0.02, 0.1, -0.8, 0.04])
>>> q, delta, scale = ternary_quantize(w, threshold=0.05)
>>> q.tolist(), round(delta, 4), round(scale, 4)
([1, 0, 1, -1, 0], 0.04, 0.4667)
>>> q, delta, scale = ternary_quantize(w, rule="twn")   # 0.7 * mean|w| = 0.2044
>>> q.tolist(), round(delta, 4), round(scale, 4)
([1, 0, 0, -1, 0], 0.2044, 0.65)
>>> q, scale = binary_quantize(torch.tensor([0.5, -0.25, 0.0, -1.0]))
>>> q.tolist(), scale
([1, -1, 1, -1], 0.4375)
"""

from __future__ import annotations

import torch

from accelerators import InputError

__all__ = [
    "RULES",
    "ternary_threshold",
    "ternarize",
    "ternary_scale",
    "ternary_quantize",
    "binary_quantize",
]

RULES = ("max", "twn")


def ternary_threshold(w: torch.Tensor, threshold: float = 0.05, rule: str = "max") -> float:
    """The per-layer threshold ``delta`` (same unit as ``w``).

    >>> ternary_threshold(torch.tensor([1.0, -2.0, 0.5]), threshold=0.25)
    0.5
    >>> round(ternary_threshold(torch.tensor([1.0, -2.0, 0.0]), rule="twn"), 6)
    0.7
    """
    a = w.detach().abs()
    if rule == "max":
        return float(threshold * a.max())
    if rule == "twn":
        return float(0.7 * a.mean())
    raise InputError("threshold_rule", rule, " or ".join(RULES))


def ternarize(w: torch.Tensor, delta: float) -> torch.Tensor:
    """``q`` as int8 in {-1, 0, +1}: ``sign(w)`` where ``|w| > delta``, else 0.

    >>> ternarize(torch.tensor([0.3, -0.1, 0.1, -0.5]), 0.1).tolist()
    [1, 0, 0, -1]
    """
    w = w.detach()
    return (w > delta).to(torch.int8) - (w < -delta).to(torch.int8)


def ternary_scale(w: torch.Tensor, q: torch.Tensor) -> float:
    """Mean ``|w|`` over the entries with ``q != 0`` (0.0 when none survive).

    >>> ternary_scale(torch.tensor([0.25, -0.1, 0.5]), torch.tensor([1, 0, 1]))
    0.375
    """
    n = int(torch.count_nonzero(q))
    return float((w.detach() * q).sum() / n) if n else 0.0  # q = sign(w) where kept


def ternary_quantize(
    w: torch.Tensor,
    threshold: float = 0.05,
    rule: str = "max",
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, float, float]:
    """``(q int8, delta, scale)`` for latent weights ``w`` (masked entries are 0).

    >>> w = torch.tensor([0.5, -0.3, 0.2, 0.9])
    >>> q, delta, scale = ternary_quantize(w, threshold=0.1, mask=torch.tensor([1, 0, 1, 1]))
    >>> q.tolist(), round(delta, 4), round(scale, 4)
    ([1, 0, 1, 1], 0.09, 0.5333)
    """
    wm = w.detach() if mask is None else w.detach() * mask
    delta = ternary_threshold(wm, threshold, rule)
    q = ternarize(wm, delta)
    return q, delta, ternary_scale(wm, q)


def binary_quantize(w: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(q int8 in {-1, +1}, scale = mean|w|)``; ``sign(0)`` is +1."""
    w = w.detach()
    q = torch.where(w >= 0, 1, -1).to(torch.int8)
    return q, float(w.abs().mean())
