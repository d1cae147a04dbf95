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


def eie_stream_columns(matrix: np.ndarray, n_pe: int, p: int, index_bits: int) -> list[int]:
    """The column of each entry (real and padding) in PE ``p``'s ``eie`` stream.

    Walks each column's rows of PE ``p`` separately (zero runs restart per column):
    after ``2**index_bits - 1`` zeros the next zero is stored as a padding entry (a
    zero weight) when a nonzero follows in the same column; trailing zeros of a
    column need no entry.
    """
    sub = matrix[p::n_pe]
    out: list[int] = []
    for col in range(sub.shape[1]):
        pending, zeros = [], 0
        for r in range(sub.shape[0]):
            if sub[r, col] != 0:
                out += pending + [col]
                pending, zeros = [], 0
            elif zeros == 2**index_bits - 1:
                pending.append(col)  # this zero is stored: a padding entry
                zeros = 0
            else:
                zeros += 1
    return out


def layer_streams(matrix, cfg) -> tuple[list[list[int]], list[int], list[int]]:
    """Per PE: entry slots to retire per column; stored weight bits; pointer bits.

    ``eie``: a PE owning rows spends at least one slot on every column (its pointer
    read), and stores ``cols + 1`` pointers of ``pointer_bits``.
    """
    rows, cols = matrix.shape
    work, bits, ptr = [], [], []
    for p in range(cfg.n_pe):
        owned = len(range(p, rows, cfg.n_pe))
        per_col = [owned] * cols
        ptr.append(0)
        if cfg.weight_format == "csc":
            stream = pe_stream_columns(matrix, cfg.n_pe, p, cfg.index_bits) if owned else []
            bits.append(len(stream) * (cfg.index_bits + 1))
        elif cfg.weight_format == "eie":
            stream = eie_stream_columns(matrix, cfg.n_pe, p, cfg.index_bits) if owned else []
            bits.append(len(stream) * (cfg.index_bits + cfg.weight_bits))
            ptr[-1] = (cols + 1) * cfg.pointer_bits if owned else 0
        else:
            bits.append(owned * cols * (2 if cfg.weight_format == "dense-ternary" else 1))
        if cfg.zero_skip != "none" and cfg.weight_format in ("csc", "eie"):
            per_col = [stream.count(j) for j in range(cols)]
            if cfg.weight_format == "eie" and owned:
                per_col = [max(1, v) for v in per_col]
        work.append(per_col)
    return work, bits, ptr


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
    used, ptr_used = [0] * cfg.n_pe, [0] * cfg.n_pe
    cap = int(cfg.weight_sram_kib_per_pe * 8192)
    ptr_cap = int(cfg.pointer_sram_kib_per_pe * 8192)
    out = []
    for lt, mask in zip(layers, masks, strict=True):
        m = lt.weight.reshape(lt.weight.shape[0], -1)
        work, bits, ptr = layer_streams(m, cfg)
        if ptr_cap == 0:  # no pointer SRAM: pointers share the weight SRAM
            bits, ptr = [b + q for b, q in zip(bits, ptr, strict=True)], [0] * cfg.n_pe
        resident = all(u + b <= cap for u, b in zip(used, bits, strict=True)) and all(
            u + q <= ptr_cap for u, q in zip(ptr_used, ptr, strict=True)
        )
        if resident:
            used = [u + b for u, b in zip(used, bits, strict=True)]
            ptr_used = [u + q for u, q in zip(ptr_used, ptr, strict=True)]
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
    """Bits streamed per column: entries (or dense weights) plus, for ``eie``, one
    pointer per PE owning rows."""
    rows, cols = m.shape
    if cfg.weight_format not in ("csc", "eie"):
        return [rows * (2 if cfg.weight_format == "dense-ternary" else 1)] * cols
    eie = cfg.weight_format == "eie"
    stream_of = eie_stream_columns if eie else pe_stream_columns
    entry_bits = cfg.index_bits + (cfg.weight_bits if eie else 1)
    per_col = [min(cfg.n_pe, rows) * cfg.pointer_bits if eie else 0] * cols
    for p in range(min(cfg.n_pe, rows)):
        for j in stream_of(m, cfg.n_pe, p, cfg.index_bits):
            per_col[j] += entry_bits
    return per_col
