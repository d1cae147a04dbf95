"""The marginal-cost rule: hardware finite differences -> regularizer coefficients.

:class:`codesign.hardware_cost.HardwareCost` measures what removing nonzeros
(and, ``per_column``, emptying columns) saves on the simulated accelerator;
this module turns those measurements into the threshold regularizer's
coefficients.

The rule (pinned by ``tests/codesign/test_hardware_cost.py``), with ``nnz_l``
the layer's nonzero weights and ``N_l = rows_l * cols_l`` its weights:

- **Finite differences.** For each layer ``l`` the provider also simulates the
  network with ``k_l = max(1, round(fraction * nnz_l))`` of that layer's
  nonzeros removed (:func:`thin`, seeded; ``fraction = 0.2``) and takes
  ``d_l = max(0, (M - M_l) / k_l)``: what one nonzero of layer ``l`` costs,
  ``M`` being ``cycles`` (latency) or ``energy_uj`` (energy). This is one
  simulation per layer per period on top of the base one. A layer whose time
  is set by something else (the activation broadcast, a DRAM stream of
  another layer, the readout) gets ``d_l ~ 0``; a layer on fewer PEs than
  rows, or repeated over many output pixels (conv), gets a large one.
  (Average rules such as ``cycles_l / nnz_l`` get broadcast-bound layers
  backwards: the sparser they are, the dearer each remaining nonzero looks.)
- ``area``: ``d_l = 1`` for every layer (with a fixed accelerator the area does
  not move with the weights; every nonzero takes one stored entry).
- **Normalisation with a floor.** ``c_l = floor + (1 - floor) * d_l / dbar``
  with ``dbar = sum_l d_l N_l / sum_l N_l`` and ``floor = 0.1`` (no layer is
  left without a pull towards zero); if every ``d_l`` is 0, ``c_l = 1``. So the
  mean coefficient over all weights is 1.
- ``per_row=True`` splits ``c_l`` over the output rows: row ``r`` lives on PE
  ``p = r % n_pe`` and is multiplied by ``load_p / mean(load)`` (the mean over
  the PEs that own rows of the layer), ``load_p`` being the layer's nonzeros
  on PE ``p`` (latency, energy) or the PE's stored nonzeros over all layers
  (area: the fullest PE sizes the SRAM); then all coefficients are rescaled
  to mean 1 over all weights again. Rows on the most loaded PEs are pulled
  hardest, which evens out PE load.
- ``per_column=True`` prices each input column too: on hardware that skips
  empty columns (``skip_empty_columns``) a column costs its broadcast push and
  its share of the padding whatever its nonzeros, so the last nonzeros of a
  column are the dearest. Each period the provider also simulates, per layer,
  the network with the layer's ``k_c = max(1, round(fraction * live))`` sparsest
  live columns emptied (:func:`drop_columns`; ``n_c`` nonzeros removed) and takes
  the column overhead ``a_l = max(0, (M - M_l^col - d_l n_c) / k_c)``. Column
  ``j`` then gets ``d_{l,j} = d_l + a_l / max(1, nnz_j)``: what one of its
  nonzeros costs when the column's overhead is shared by its nonzeros. The
  normalisation below runs over these per-weight values (the coefficients are
  (rows, cols) arrays), and ``a_l`` is 0 where columns cost nothing of their own
  (every column pushed). These per-weight values are normalised like the
  per-layer ones (floor, ``per_row``), but with the means (``dbar`` and the
  final rescaling) over the *nonzero* weights, the ones whose cost is measured:
  the dead columns' high values (``d_l + a_l``, keeping them dead) must not
  dilute the pull on the live ones. The coefficient is then the larger of this
  and the per-layer rule's: the column term only adds pull. (Without the
  maximum, a dense column's zeros would be pulled at little more than the floor
  and grow back: measured on lfc, a stronger ``reg_strength`` gave a *less*
  sparse, slower network.) The mean coefficient is then above 1.
- A mix ``{"latency": 2, "energy": 1}`` computes each objective's normalised
  coefficients and takes their weighted mean.
"""

from __future__ import annotations

import numpy as np

from accelerators import InputError, LayerTensor

__all__ = ["FLOOR", "FRACTION", "OBJECTIVES", "drop_columns", "marginal_costs", "thin"]

OBJECTIVES = ("latency", "energy", "area")


def _parse_objective(objective) -> dict[str, float]:
    if isinstance(objective, str):
        if objective not in OBJECTIVES:
            raise InputError(
                "feedback_objective", objective, "latency, energy, area or a weighted mix"
            )
        return {objective: 1.0}
    if not isinstance(objective, dict) or not objective:
        raise InputError("feedback_objective", objective, "latency, energy, area or a weighted mix")
    for k, w in objective.items():
        if k not in OBJECTIVES:
            raise InputError("feedback_objective", k, "latency, energy or area")
        if not isinstance(w, int | float) or w < 0:
            raise InputError(f"feedback_objective.{k}", w, "a weight >= 0")
    if sum(objective.values()) <= 0:
        raise InputError("feedback_objective", objective, "at least one weight > 0")
    return {k: float(w) for k, w in objective.items()}


# chosen, not fitted (module docstring: "Normalisation with a floor", "thin")
FLOOR = 0.1
FRACTION = 0.2


def thin(layer: LayerTensor, fraction: float = FRACTION, seed: int = 0) -> tuple[LayerTensor, int]:
    """``layer`` with ``k = max(1, round(fraction * nnz))`` nonzeros set to 0 (seeded); returns ``k``.

    >>> lt = LayerTensor("x", np.array([[1, -1, 0, 1, 1]]))
    >>> t, k = thin(lt, 0.5)
    >>> k, t.nnz
    (2, 2)
    """
    nz = np.flatnonzero(layer.weight)
    if nz.size == 0:
        return layer, 0
    k = max(1, int(round(fraction * nz.size)))
    drop = np.random.default_rng(seed).choice(nz, size=k, replace=False)
    w = layer.weight.copy()
    w.flat[drop] = 0
    return LayerTensor(
        layer.name, w, layer.scale, layer.kind, layer.out_pixels, layer.act_density
    ), k


def drop_columns(layer: LayerTensor, fraction: float = FRACTION) -> tuple[LayerTensor, int, int]:
    """``layer`` with its ``k = max(1, round(fraction * live))`` sparsest live columns
    emptied (ties: the lower column first); returns ``(layer, k, nonzeros removed)``.

    >>> lt = LayerTensor("x", np.array([[1, 0, 1, 1], [0, 0, 1, -1]]))
    >>> t, k, n = drop_columns(lt, 0.5)     # live 0, 2, 3 (nnz 1, 2, 2): drop 0, 2
    >>> t.matrix.tolist(), k, n
    ([[0, 0, 0, 1], [0, 0, 0, -1]], 2, 3)
    """
    m = layer.matrix
    nnz = np.count_nonzero(m, axis=0)
    live = np.flatnonzero(nnz)
    if live.size == 0:
        return layer, 0, 0
    k = max(1, int(round(fraction * live.size)))
    drop = live[np.argsort(nnz[live], kind="stable")[:k]]
    w = m.copy()
    w[:, drop] = 0
    thinner = LayerTensor(
        layer.name,
        w.reshape(layer.weight.shape),
        layer.scale,
        layer.kind,
        layer.out_pixels,
        layer.act_density,
    )
    return thinner, k, int(nnz[drop].sum())


def _row_factor(loads: np.ndarray, rows: int, n_pe: int) -> np.ndarray:
    """Per-row factor ``load_{r % n_pe} / mean(load over the PEs owning rows)``."""
    owners = min(rows, n_pe)
    load = np.asarray(loads[:owners], dtype=float)
    mean = load.mean() if owners else 0.0
    if mean <= 0:
        return np.ones(rows)
    return load[np.arange(rows) % n_pe] / mean


def _pe_nnz(lt: LayerTensor, n_pe: int) -> np.ndarray:
    out = np.zeros(n_pe)
    np.add.at(out, np.arange(lt.rows) % n_pe, np.count_nonzero(lt.matrix, axis=1))
    return out


def _per_column(lt: LayerTensor, d_l: float, a_l: float) -> np.ndarray:
    """``d_l + a_l / max(1, nnz_j)`` for every input column ``j`` of ``lt``, (1, cols)."""
    nnz = np.count_nonzero(lt.matrix, axis=0)
    return (d_l + max(0.0, float(a_l)) / np.maximum(nnz, 1))[None, :]


def _full(value, lt: LayerTensor) -> np.ndarray:
    """A layer's coefficient (float, (rows,), (1, cols) or (rows, cols)) per weight, (rows, cols)."""
    v = np.asarray(value, dtype=float)
    return np.broadcast_to(v[:, None] if v.ndim == 1 else v, (lt.rows, lt.cols))


def _mean(values: list, layers: list[LayerTensor], over_nonzeros: bool) -> float:
    """Mean of per-layer coefficients over all weights, or over the nonzero weights
    (``per_column``: the weights the cost is paid for; all weights if none is nonzero)."""
    if over_nonzeros:
        masks = [lt.matrix != 0 for lt in layers]
        count = sum(int(m.sum()) for m in masks)
        if count:
            return (
                sum(
                    float(_full(v, lt)[m].sum())
                    for v, lt, m in zip(values, layers, masks, strict=True)
                )
                / count
            )
    sizes = [lt.rows * lt.cols for lt in layers]  # a float, (rows,), (1, cols) or (rows, cols)
    return sum(float(np.mean(v)) * n for v, n in zip(values, sizes, strict=True)) / sum(sizes)


def _normalised(d: list, layers, n_pe, load_of, per_row, floor, over_nonzeros) -> list:
    """``floor + (1 - floor) d / mean(d)``, per row scaled by PE load, with mean 1 over
    all weights (or over the nonzero weights with ``over_nonzeros``)."""
    dbar = _mean(d, layers, over_nonzeros)
    coeff: list = []
    for d_l, lt in zip(d, layers, strict=True):
        base = 1.0 if dbar <= 0 else floor + (1 - floor) * np.asarray(d_l) / dbar
        if np.ndim(base) == 2:
            base = _full(base, lt)
        if per_row:
            factor = _row_factor(load_of(lt), lt.rows, n_pe)
            base = base * (factor[:, None] if np.ndim(base) == 2 else factor)
        coeff.append(base if np.ndim(base) else float(base))
    mean = _mean(coeff, layers, over_nonzeros)
    return [c / mean for c in coeff]


def marginal_costs(
    layers: list[LayerTensor],
    diffs: dict[str, dict[str, float]],
    n_pe: int,
    objective="latency",
    per_row: bool = False,
    floor: float = FLOOR,
    overheads: dict[str, dict[str, float]] | None = None,
) -> dict[str, float | np.ndarray]:
    """Normalised coefficients from raw per-nonzero costs (see the module rule).

    ``diffs[objective][layer]`` is ``d_l`` (cycles or uJ per nonzero) for
    ``latency`` / ``energy``; ``area`` needs none. ``overheads[objective][layer]``
    is the column overhead ``a_l`` (same units per column): given, the
    coefficients are per weight, (rows, cols) arrays (``per_column``).
    """
    weights = _parse_objective(objective)
    total_pe = sum(_pe_nnz(lt, n_pe) for lt in layers)
    wsum = sum(weights.values())
    mixed: list = [0.0] * len(layers)
    for obj, w in weights.items():
        if w == 0:
            continue
        if obj == "area":
            d = [1.0] * len(layers)
        else:
            d = [max(0.0, float(diffs[obj].get(lt.name, 0.0))) for lt in layers]

        def load_of(lt, obj=obj):
            return total_pe if obj == "area" else _pe_nnz(lt, n_pe)

        coeff = _normalised(d, layers, n_pe, load_of, per_row, floor, False)
        if overheads is not None and obj in overheads:  # per column: only ever more pull
            a = [overheads[obj].get(lt.name, 0.0) for lt in layers]
            d_col = [_per_column(*lda) for lda in zip(layers, d, a, strict=True)]
            col = _normalised(d_col, layers, n_pe, load_of, per_row, floor, True)
            coeff = [
                np.maximum(_full(c, lt), p) for c, p, lt in zip(coeff, col, layers, strict=True)
            ]
        for i in range(len(layers)):
            mixed[i] = mixed[i] + (w / wsum) * coeff[i]
    return {
        lt.name: (float(v) if np.ndim(v) == 0 else np.asarray(v, dtype=float))
        for lt, v in zip(layers, mixed, strict=True)
    }
