"""Workloads: a network as the accelerator sees it.

A workload is a :class:`networkx.DiGraph` whose nodes are layer names, chained by
edges in execution order (``g.graph["order"]`` lists them). Each node carries

- ``tensor``: the :class:`~accelerators.LayerTensor` (ternary weights, kind,
  ``out_pixels``, ``act_density``);
- ``index``: its position in the execution order;
- ``cache``: a :class:`~accelerators.layer_cache.LayerCache` of derived statistics
  the models compute once and reuse, for the most recent hardware settings (per-PE,
  per-column entry counts for a given ``(n_pe, index_bits)`` and activation zero
  masks for a given seed). Use :func:`accelerators.stats.pe_entries` and
  :func:`accelerators.stats.act_mask`; arrays derived from them for a given
  ``lanes_per_pe`` too (:meth:`accelerators.sim.plan.LayerPlan.kept`).

Convolutions are lowered to matrix-vector work per output pixel: the matrix has
``rows = out channels`` and ``cols = in * kh * kw`` and runs ``out_pixels`` times.

Shape chaining rule (checked by :func:`workload_from_tensors`), for a layer B
after a layer A:

- linear after linear: ``B.cols == A.rows``;
- conv after conv: B's in-channels ``== A.rows`` (A's out-channels); pooling
  between them is free (the spatial size is only known through ``out_pixels``);
- linear after conv (flatten, maybe after pooling): ``B.cols`` must be a multiple
  of ``A.rows`` and ``B.cols / A.rows <= A.out_pixels`` (flattening cannot add pixels);
- conv after linear: not supported.

Shape files for :func:`load_workload` (TOML or JSON) look like::

    name = "tiny"          # optional
    sparsity = 0.9         # weight sparsity of every layer (a layer may override it)
    act_density = 0.5      # fraction of nonzero input activations (may be overridden)
    seed = 0
    [[layers]]
    name = "fc0"           # optional, default "<kind><i>"
    kind = "linear"        # or "conv2d"
    in = 784
    out = 256
    [[layers]]
    kind = "conv2d"        # conv layers also give kh, kw (default 3) and out_pixels
    in = 3
    out = 16
    out_pixels = 900

A ``.npz`` path is read as a ``ternary.npz`` (see :mod:`accelerators.tensors`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np

from ._errors import InputError
from ._files import read_json, read_toml
from .layer_cache import LayerCache
from .tensors import MAX_LAYERS, MAX_PIXELS, MAX_WEIGHTS, LayerTensor, load_ternary_npz

__all__ = [
    "BUILTIN_SHAPES",
    "workload_from_tensors",
    "workload_from_shapes",
    "load_workload",
    "workload_summary",
    "layers_of",
]

BUILTIN_SHAPES: dict[str, list[dict]] = {
    "lfc": [
        {"name": "fc0", "kind": "linear", "in": 784, "out": 1024},
        {"name": "fc1", "kind": "linear", "in": 1024, "out": 1024},
        {"name": "fc2", "kind": "linear", "in": 1024, "out": 1024},
        {"name": "fc3", "kind": "linear", "in": 1024, "out": 10},
    ],
    # FINN's CNV for 32x32x3 input, 3x3 convs without padding, 2x2 max-pools.
    "cnv": [
        {"name": "conv0", "kind": "conv2d", "in": 3, "out": 64, "out_pixels": 30 * 30},
        {"name": "conv1", "kind": "conv2d", "in": 64, "out": 64, "out_pixels": 28 * 28},
        {"name": "conv2", "kind": "conv2d", "in": 64, "out": 128, "out_pixels": 12 * 12},
        {"name": "conv3", "kind": "conv2d", "in": 128, "out": 128, "out_pixels": 10 * 10},
        {"name": "conv4", "kind": "conv2d", "in": 128, "out": 256, "out_pixels": 3 * 3},
        {"name": "conv5", "kind": "conv2d", "in": 256, "out": 256, "out_pixels": 1},
        {"name": "fc0", "kind": "linear", "in": 256, "out": 512},
        {"name": "fc1", "kind": "linear", "in": 512, "out": 512},
        {"name": "fc2", "kind": "linear", "in": 512, "out": 10},
    ],
}


def _check_chain(a: LayerTensor, b: LayerTensor) -> None:
    if a.kind == "linear" and b.kind == "linear":
        ok, need = b.cols == a.rows, f"cols = {a.rows} (rows of {a.name!r})"
        got = b.cols
    elif a.kind == "conv2d" and b.kind == "conv2d":
        ok, need = (
            b.weight.shape[1] == a.rows,
            f"in-channels = {a.rows} (out-channels of {a.name!r})",
        )
        got = b.weight.shape[1]
    elif a.kind == "conv2d" and b.kind == "linear":
        ok = b.cols % a.rows == 0 and b.cols // a.rows <= a.out_pixels
        need = f"cols = {a.rows} x k with 1 <= k <= {a.out_pixels} (flatten of {a.name!r})"
        got = b.cols
    else:
        ok, need, got = False, f"a linear layer after linear {a.name!r}", b.kind
    if not ok:
        raise InputError(f"{b.name}.shape", got, need)


def workload_from_tensors(
    layers: Sequence[LayerTensor], name: str = "workload", like: nx.DiGraph | None = None
) -> nx.DiGraph:
    """Chain ``layers`` (execution order) into a workload graph; checks shapes chain.

    ``like``: a workload whose per-layer caches (CSC statistics, activation masks)
    are shared by every layer here that is the very same :class:`LayerTensor`
    object (what-if variants of a network that change one layer recompute only it).
    """
    if not 1 <= len(layers) <= MAX_LAYERS:
        raise InputError("layers", f"{len(layers):,} layers", f"1 to {MAX_LAYERS:,} layers")
    g = nx.DiGraph(name=name, order=[lt.name for lt in layers])
    for i, lt in enumerate(layers):
        if not isinstance(lt, LayerTensor):
            raise InputError(f"layers[{i}]", type(lt).__name__, "a LayerTensor")
        if lt.name in g:
            raise InputError("layer name", lt.name, "unique layer names")
        if i:
            _check_chain(layers[i - 1], lt)
        same = like is not None and lt.name in like and like.nodes[lt.name]["tensor"] is lt
        g.add_node(
            lt.name,
            tensor=lt,
            index=i,
            cache=like.nodes[lt.name]["cache"] if same else LayerCache(),
        )
        if i:
            g.add_edge(layers[i - 1].name, lt.name)
    return g


def layers_of(g: nx.DiGraph) -> list[LayerTensor]:
    """The layer tensors in execution order."""
    return [g.nodes[n]["tensor"] for n in g.graph["order"]]


def random_ternary(
    shape: tuple[int, ...], sparsity: float, rng: np.random.Generator, name: str = "shape"
) -> np.ndarray:
    """Exactly ``round((1 - sparsity) * size)`` nonzeros at random places, random signs.

    A shape of more than :data:`MAX_WEIGHTS` weights is refused (``InputError``).
    """
    size = math.prod(int(d) for d in shape)
    if size > MAX_WEIGHTS:
        raise InputError(name, list(shape), f"at most {MAX_WEIGHTS:,} weights in one layer")
    k = int(round((1.0 - sparsity) * size))
    w = np.zeros(size, dtype=np.int8)
    idx = rng.choice(size, size=k, replace=False)
    w[idx] = rng.choice(np.array([-1, 1], dtype=np.int8), size=k)
    return w.reshape(shape)


MAX_DIM = 1_048_576  # in / out of one layer
MAX_KERNEL = 64  # kh / kw of one conv layer


def _int_in(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise InputError(name, v, f"an integer in {lo:,}..{hi:,}")
    return v


def _fraction(name: str, v, allowed: str, ok) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not ok(v):
        raise InputError(name, v, allowed)
    return float(v)


def _layer_from_spec(i: int, spec: dict, sparsity: float, act_density: float, rng) -> LayerTensor:
    kind = spec.get("kind", "linear")
    name = str(spec.get("name", f"{kind}{i}"))
    n_in = _int_in(f"{name}.in", spec.get("in"), 1, MAX_DIM)
    n_out = _int_in(f"{name}.out", spec.get("out"), 1, MAX_DIM)
    s = _fraction(
        f"{name}.sparsity",
        spec.get("sparsity", sparsity),
        "a fraction in [0, 1)",
        lambda v: 0.0 <= v < 1.0,
    )
    d = _fraction(
        f"{name}.act_density",
        spec.get("act_density", act_density),
        "a fraction in (0, 1]",
        lambda v: 0.0 < v <= 1.0,
    )
    if kind == "conv2d":
        kh = _int_in(f"{name}.kh", spec.get("kh", 3), 1, MAX_KERNEL)
        kw = _int_in(f"{name}.kw", spec.get("kw", 3), 1, MAX_KERNEL)
        shape = (n_out, n_in, kh, kw)
        pixels = _int_in(f"{name}.out_pixels", spec.get("out_pixels", 1), 1, MAX_PIXELS)
    elif kind == "linear":
        shape, pixels = (n_out, n_in), 1
    else:
        raise InputError(f"{name}.kind", kind, "linear or conv2d")
    if math.prod(shape) > MAX_WEIGHTS:
        raise InputError(f"{name}.shape", list(shape), f"at most {MAX_WEIGHTS:,} weights")
    w = random_ternary(shape, s, rng)
    return LayerTensor(name, w, 1.0, kind, pixels, d)


def workload_from_shapes(
    name_or_shapes: str | Sequence[dict],
    sparsity: float | Sequence[float] = 0.9,
    seed: int = 0,
    act_density: float = 0.5,
) -> nx.DiGraph:
    """A random ternary workload for what-if studies.

    ``name_or_shapes`` is ``"lfc"``, ``"cnv"`` or a list of layer dicts (module
    docstring). ``sparsity`` is one weight sparsity for all layers or one per layer;
    each layer gets exactly ``round((1 - s) * size)`` nonzeros at random places with
    random signs. ``act_density`` is every layer's fraction of nonzero inputs (used
    by activation zero-skip).
    """
    if isinstance(name_or_shapes, str):
        if name_or_shapes not in BUILTIN_SHAPES:
            raise InputError("workload", name_or_shapes, " | ".join(BUILTIN_SHAPES) + " or a file")
        specs, name = BUILTIN_SHAPES[name_or_shapes], name_or_shapes
    else:
        specs, name = list(name_or_shapes), "shapes"
    if not 1 <= len(specs) <= MAX_LAYERS:  # before any random weights are drawn
        raise InputError("layers", f"{len(specs):,} layers", f"1 to {MAX_LAYERS:,} layers")
    if isinstance(sparsity, int | float):
        sparsity = [float(sparsity)] * len(specs)
    if not isinstance(sparsity, Sequence) or len(sparsity) != len(specs):
        raise InputError("sparsity", sparsity, f"one number or a list of {len(specs)} numbers")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError("seed", seed, "an integer from 0 to 2**32 - 1")
    rng = np.random.default_rng(seed)
    layers = [
        _layer_from_spec(i, spec, s, act_density, rng)
        for i, (spec, s) in enumerate(zip(specs, sparsity, strict=True))
    ]
    return workload_from_tensors(layers, name=name)


def load_workload(path: str | os.PathLike) -> nx.DiGraph:
    """Read a workload: ``.npz`` (ternary.npz), ``.toml`` or ``.json`` (shape list)."""
    p = Path(path)
    if p.suffix == ".npz":
        return workload_from_tensors(load_ternary_npz(p), name=p.stem)
    read = read_json if p.suffix == ".json" else read_toml
    data = read(p, "workload file")
    layers = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(layers, list) or not layers or not all(isinstance(x, dict) for x in layers):
        raise InputError("layers", layers, "a non-empty list of layer tables")
    g = workload_from_shapes(
        layers,
        sparsity=data.get("sparsity", 0.9),
        seed=data.get("seed", 0),
        act_density=data.get("act_density", 0.5),
    )
    g.graph["name"] = str(data.get("name", p.stem))
    return g


def workload_summary(g: nx.DiGraph) -> dict:
    """Per-layer shapes and totals: rows, cols, out_pixels, nnz, sparsity, weight count, MACs."""
    rows = []
    for lt in layers_of(g):
        rows.append(
            {
                "name": lt.name,
                "kind": lt.kind,
                "shape": list(lt.weight.shape),
                "rows": lt.rows,
                "cols": lt.cols,
                "out_pixels": lt.out_pixels,
                "nnz": lt.nnz,
                "sparsity": lt.sparsity,
                "act_density": lt.act_density,
                "dense_macs": lt.rows * lt.cols * lt.out_pixels,
            }
        )
    weights = sum(r["rows"] * r["cols"] for r in rows)
    nnz = sum(r["nnz"] for r in rows)
    return {
        "name": g.graph.get("name", "workload"),
        "layers": rows,
        "weights": weights,
        "nnz": nnz,
        "sparsity": 1.0 - nnz / weights,
        "dense_macs": sum(r["dense_macs"] for r in rows),
    }
