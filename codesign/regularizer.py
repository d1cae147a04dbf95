"""The quantization threshold regularizer (stage 1 of sparse ternary training).

Our form (the seed paper's exact form is not available to us)::

    R = sum_l  sum_{i in Z_l}  c_{l, r(i)} * |w_i|
    Z_l = { i : |w_i| < capture * delta_l }   (the capture zone)

``delta_l`` is layer ``l``'s current ternary threshold (``t * max|W_l|`` or
``0.7 * mean|W_l|``), taken as a constant in the gradient; ``c_{l, r}`` is the
coefficient of layer ``l`` for output row (channel) ``r``: one float for the
whole layer, one per row, or one per weight (an array of the layer's
(rows, cols) matrix shape, e.g. per input column), from the cost provider (1 for
:class:`UniformCost`).
The stage-1 loss is ``CE + (l2 / 2) * sum w^2 + reg_strength * R``.

Each weight in its capture zone feels a constant pull ``reg_strength * c``
towards zero (an L1 pull restricted to the zone), so weights near or under the
threshold are driven to 0 and pruned in stage 2, while weights well above it
(the ones the network needs) are left alone. ``capture = 1`` only pulls weights
that already quantize to 0; ``capture > 1`` also captures weights just above
the threshold, which is what lifts sparsity from ~90 % to ~98 %.

>>> import torch
>>> w = torch.tensor([[0.5, -0.05, 0.2], [0.01, -0.3, 0.08]])
>>> round(float(capture_penalty(w, delta=0.1, capture=1.0)), 6)  # 0.05 + 0.01 + 0.08
0.14
>>> c = torch.tensor([1.0, 2.0])   # zone |w| < 0.25: 1 * (0.05 + 0.2) + 2 * (0.01 + 0.08)
>>> round(float(capture_penalty(w, delta=0.1, capture=2.5, coeff=c)), 6)
0.43
>>> cw = torch.tensor([[0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])   # per weight: 0.05 + 0.6 + 0.01 + 0.08
>>> round(float(capture_penalty(w, delta=0.1, capture=2.5, coeff=cw)), 6)
0.74

Training adds the gradient of ``strength * R`` straight into ``w.grad``
(:func:`add_capture_grad_`, cheaper than autograd through the penalty):
``strength * c_r * sign(w_i)`` inside the zone, 0 outside.

>>> g = torch.zeros_like(w)
>>> add_capture_grad_(g, w, delta=0.1, capture=2.5, coeff=c, strength=0.5).tolist()
[[0.0, -0.5, 0.5], [1.0, 0.0, 1.0]]

With ``reg_update = "proximal"`` the gradient is not added; instead, after each
optimizer step, :func:`prox_capture_` applies the proximal step of ``amount * R``
(``amount = lr_t * strength``): every weight in its capture zone shrinks towards 0
by ``amount * c``, and one that would cross 0 stops at 0. Adam divides each
weight's gradient by its own running magnitude, so under ``gradient`` a weight whose
gradient is mostly the pull moves about ``lr`` per step whatever its ``c``: the
coefficients rank the weights only where the loss gradient competes. The proximal
step is outside Adam: a weight's pull is exactly proportional to ``c``, and a weight
survives only while Adam's step for it (at most about ``lr_t``) outweighs
``lr_t * strength * c``, i.e. while its loss gradient is consistent enough for
its price (the decoupling of weight decay from Adam, Loshchilov and Hutter, ICLR 2019,
applied to this penalty).

>>> v = w.clone()   # amount 0.1: c = 1 row shrinks 0.1, c = 2 row 0.2; the zone is |w| < 0.25
>>> [[round(x, 6) + 0.0 for x in r] for r in prox_capture_(v, delta=0.1, capture=2.5, coeff=c, amount=0.1).tolist()]
[[0.5, 0.0, 0.1], [0.0, -0.3, 0.0]]
"""

from __future__ import annotations

import torch

__all__ = ["capture_penalty", "add_capture_grad_", "prox_capture_"]


def capture_penalty(
    w: torch.Tensor,
    delta: float,
    capture: float,
    coeff: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """``sum_{|w_i| < capture * delta} c_{r(i)} * |w_i|`` for one layer (differentiable in ``w``).

    ``coeff`` is a float, a tensor of shape (rows,) = one per output row of ``w``
    (``w.shape[0]``), or one of shape (rows, cols) = one per weight of the layer's
    matrix (``w.reshape(rows, -1)``).
    """
    a = w.abs()
    zone = a.detach() < capture * delta
    per = (a * zone).reshape(w.shape[0], -1)
    if isinstance(coeff, torch.Tensor) and coeff.ndim == 2:
        return (per * coeff).sum()
    if isinstance(coeff, torch.Tensor) and coeff.ndim == 1:
        return (per.sum(dim=1) * coeff).sum()
    return per.sum() * float(coeff)


@torch.no_grad()
def add_capture_grad_(
    grad: torch.Tensor,
    w: torch.Tensor,
    delta: float,
    capture: float,
    coeff: float | torch.Tensor = 1.0,
    strength: float = 1.0,
) -> torch.Tensor:
    """Add ``strength * d capture_penalty / d w`` to ``grad`` in place and return it.

    The subgradient at ``w_i = 0`` is 0 (``sign(0) = 0``).
    """
    g = torch.sign(w)
    g.mul_(w.abs() < capture * delta)
    g.mul_(_scaled(coeff, strength, w))
    return grad.add_(g)


@torch.no_grad()
def prox_capture_(
    w: torch.Tensor,
    delta: float,
    capture: float,
    coeff: float | torch.Tensor = 1.0,
    amount: float = 1.0,
) -> torch.Tensor:
    """The proximal step of ``amount * capture_penalty``, in place on ``w``; returns ``w``.

    Each weight with ``|w_i| < capture * delta`` becomes
    ``sign(w_i) * max(|w_i| - amount * c_i, 0)``; the rest are unchanged.
    """
    a = w.abs()
    shrink = (a < capture * delta) * _scaled(coeff, amount, w)
    return w.copy_(torch.sign(w) * (a - shrink).clamp_(min=0.0))


def _scaled(coeff: float | torch.Tensor, factor: float, w: torch.Tensor):
    """``factor * c`` broadcastable against ``w``: a float, per row or per weight."""
    if isinstance(coeff, torch.Tensor) and coeff.ndim == 2:
        return coeff.reshape(w.shape) * factor
    if isinstance(coeff, torch.Tensor) and coeff.ndim == 1:
        return coeff.reshape(-1, *([1] * (w.ndim - 1))) * factor
    return float(coeff) * factor
