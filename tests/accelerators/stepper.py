"""A per-cycle reference stepper of the accelerator template, for tiny layers (tests only).

Written from the rules in the docstrings of :mod:`accelerators.sim.timing` and
:mod:`accelerators.sim.blocks`, without their recurrence: it builds every PE's
weight stream entry by entry and steps broadcast, FIFOs, PE lanes and the DRAM
stream one cycle at a time. Slow on purpose; use it on layers of a few dozen weights.

Within cycle ``t``:

1. each PE pops FIFO heads that are visible (pushed before ``t``) and have no
   entries left (an empty column, or one whose last entries retired in ``t - 1``);
2. if every column is pushed and every FIFO is empty, the tile ends: it took ``t``;
3. each PE with a visible head retires up to ``lanes`` of its entries (a busy cycle);
4. the broadcast pushes the next column if every FIFO holds fewer than
   ``fifo_depth`` columns and (streaming) the DRAM has delivered the column's bits:
   ``8 * bytes_per_cycle * (t - latency)`` bits by cycle ``t``; it repeats this
   up to ``broadcast_acts_per_cycle`` times per cycle. A streamed tile also waits
   in step 2 until the whole layer has streamed.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np


def pe_stream_columns(matrix: np.ndarray, n_pe: int, p: int, index_bits: int) -> list[int]:
    """The column of each entry (real and padding) in PE ``p``'s CSC stream, in order.

    Walks PE ``p``'s rows column by column. Every ``2**index_bits - 1`` zeros in a
    row of zeros make a padding entry, placed in the column of the last zero it
    covers; paddings are only kept if a nonzero follows them (no trailing ones).
    """
    sub = matrix[p::n_pe]
    span = 2**index_bits - 1
    out: list[int] = []
    pending: list[int] = []
    zeros = 0
    for col in range(sub.shape[1]):
        for r in range(sub.shape[0]):
            if sub[r, col] != 0:
                out += pending + [col]
                pending, zeros = [], 0
            else:
                zeros += 1
                if zeros == span:
                    pending.append(col)
                    zeros = 0
    return out


def layer_streams(matrix, cfg) -> tuple[list[list[int]], list[int]]:
    """Per PE: entries to retire per column; per PE: stored bits."""
    rows, cols = matrix.shape
    work, bits = [], []
    for p in range(cfg.n_pe):
        owned = len(range(p, rows, cfg.n_pe))
        if cfg.weight_format == "csc":
            stream = pe_stream_columns(matrix, cfg.n_pe, p, cfg.index_bits) if owned else []
            per_col = [stream.count(j) for j in range(cols)]
            bits.append(len(stream) * (cfg.index_bits + 1))
        else:
            per_col = [owned] * cols
            bits.append(owned * cols * (2 if cfg.weight_format == "dense-ternary" else 1))
        work.append(per_col if cfg.zero_skip != "none" else [owned] * cols)
        if cfg.weight_format == "csc" and cfg.zero_skip == "none":
            work[-1] = [owned] * cols
    return work, bits


def step_tile(work, push_cols, cfg, col_bits=None) -> tuple[int, list[int]]:
    """Cycles of one tile and busy cycles per PE. ``col_bits``: stream from DRAM."""
    n_pe, lanes, depth = cfg.n_pe, cfg.lanes_per_pe, cfg.fifo_depth
    fifos = [deque() for _ in range(n_pe)]  # entries: [push_cycle, remaining]
    busy = [0] * n_pe
    cum = None
    if col_bits is not None:
        cum = np.cumsum(col_bits).tolist()
    nxt, t = 0, 0
    while True:
        for f in fifos:
            while f and f[0][0] < t and f[0][1] == 0:
                f.popleft()
        streamed = (
            cum is None
            or not cum
            or cum[-1] <= 8 * cfg.dram_bytes_per_cycle * (t - cfg.dram_latency_cycles)
        )
        if nxt == len(push_cols) and all(not f for f in fifos) and streamed:
            return t, busy
        for p, f in enumerate(fifos):
            if f and f[0][0] < t and f[0][1] > 0:
                f[0][1] -= min(lanes, f[0][1])
                busy[p] += 1
        for _ in range(cfg.broadcast_acts_per_cycle):
            if nxt == len(push_cols) or any(len(f) >= depth for f in fifos):
                break
            j = push_cols[nxt]
            arrived = cum is None or cum[j] <= 8 * cfg.dram_bytes_per_cycle * (
                t - cfg.dram_latency_cycles
            )
            if not arrived:
                break
            for p, f in enumerate(fifos):
                f.append([t, work[p][j]])
            nxt += 1
        t += 1


def step_workload(layers, cfg, masks) -> list[dict]:
    """Per layer: ``cycles`` and ``pe_busy_cycles``, stepping every tile.

    ``masks[i]``: (out_pixels, cols) bool nonzero activations of layer ``i``, or None.
    """
    used = [0] * cfg.n_pe
    cap = int(cfg.weight_sram_kib_per_pe * 8192)
    out = []
    for lt, mask in zip(layers, masks, strict=True):
        m = lt.weight.reshape(lt.weight.shape[0], -1)
        work, bits = layer_streams(m, cfg)
        resident = all(u + b <= cap for u, b in zip(used, bits, strict=True))
        if resident:
            used = [u + b for u, b in zip(used, bits, strict=True)]
            col_bits = None
        else:
            col_bits = _column_bits(m, cfg)
        owned_max = len(range(0, m.shape[0], cfg.n_pe))
        readout = math.ceil(owned_max / cfg.lanes_per_pe)
        cycles, busy = 0, [0] * cfg.n_pe
        for px in range(lt.out_pixels):
            skip = cfg.zero_skip == "weights+activations" and mask is not None
            cols = [j for j in range(m.shape[1]) if not skip or mask[px, j]]
            c, b = step_tile(work, cols, cfg, col_bits)
            cycles += c + readout
            busy = [x + y for x, y in zip(busy, b, strict=True)]
        out.append({"cycles": cycles, "pe_busy_cycles": busy, "resident": resident})
    return out


def _column_bits(m, cfg) -> list[int]:
    rows, cols = m.shape
    if cfg.weight_format != "csc":
        return [rows * (2 if cfg.weight_format == "dense-ternary" else 1)] * cols
    per_col = [0] * cols
    for p in range(min(cfg.n_pe, rows)):
        for j in pe_stream_columns(m, cfg.n_pe, p, cfg.index_bits):
            per_col[j] += cfg.index_bits + 1
    return per_col
