"""Exact weight storage of a trained network, in bits, under four encodings.

============================  =====================================================
``fp32``                      32 bits per weight
``binary``                    1 bit per weight + 32 bits of scale per layer
``ternary``                   2 bits per weight + 32 bits of scale per layer
``sparse_ternary``            the accelerator's relative-index CSC stream
                              (:func:`accelerators.stored_weight_bits` on a ``csc``
                              config: ``index_bits + 1`` bits per entry, padding
                              entries included, for ``n_pe`` PEs) + 32 bits of
                              scale per layer
============================  =====================================================

``binary`` and ``ternary`` are also :func:`accelerators.stored_weight_bits`
(``dense-binary`` / ``dense-ternary`` configs), so these figures agree with what
``simulate`` reports as ``weight_bits_stored`` (plus the scales).

Only weight-layer weights are counted (batch-norm parameters and biases are the
same for every encoding and are left out). Convolution weights are counted once
(as the (out, in*kh*kw) matrix the PEs hold), not per output pixel.

Defaults: ``n_pe = 64`` (the default hardware) and ``index_bits = 7``, which
gives the smallest stream for a 1024 x 1024 layer with uniformly scattered
nonzeros at 97-98 % sparsity (the best choice is 5 at 90 %, 6 at 95 %, 7 at
97-98 %, 8 at 99 %, 9 at 99.5 %; see ``docs/train.md``).

>>> import numpy as np
>>> from accelerators import LayerTensor
>>> w = np.array([[1, 0, 0, 0], [0, 0, 0, -1]], dtype=np.int8)
>>> # CSC positions 0 and 7 (rows=2); the gap of 6 zeros needs 6 // 3 = 2 paddings:
>>> # 4 entries x 3 bits + 32 bits of scale = 44
>>> s = weight_sizes([LayerTensor("fc", w)], n_pe=1, index_bits=2)
>>> s["fp32"], s["binary"], s["ternary"], s["sparse_ternary"]
(256, 40, 48, 44)
"""

from __future__ import annotations

from accelerators import HardwareConfig, LayerTensor, dense_bits, stored_weight_bits

__all__ = ["N_PE", "INDEX_BITS", "SCALE_BITS", "weight_sizes"]

N_PE = 64
INDEX_BITS = 7
SCALE_BITS = 32


def weight_sizes(
    layers: list[LayerTensor], n_pe: int = N_PE, index_bits: int = INDEX_BITS
) -> dict[str, int]:
    """Bits to store ``layers`` as ``fp32``, ``binary``, ``ternary`` and ``sparse_ternary``."""
    csc = HardwareConfig(n_pe=n_pe, index_bits=index_bits, weight_format="csc")  # validates both
    dense = {
        "binary": csc.replace(zero_skip="none", weight_format="dense-binary"),
        "ternary": csc.replace(zero_skip="none", weight_format="dense-ternary"),
        "sparse_ternary": csc,
    }
    out = {"fp32": 0, "binary": 0, "ternary": 0, "sparse_ternary": 0}
    for lt in layers:
        m = lt.matrix
        out["fp32"] += dense_bits(m, 32)
        for key, cfg in dense.items():
            out[key] += stored_weight_bits(m, cfg) + SCALE_BITS
    return out
