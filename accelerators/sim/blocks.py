"""The hardware blocks of the template, one class per block.

Each block takes ``env`` and its own slice of the config, owns its SimPy
resources and processes, and reports what it does to a collector (see
:class:`accelerators.sim.accelerator.Collector`); no block reads globals.

Timing rules beyond the tile recurrence of :mod:`accelerators.sim.timing`:

- **Weight SRAM** (:class:`WeightSRAM`): each PE has ``weight_sram_kib_per_pe``.
  Layers are placed in execution order; a layer stays resident if every PE's
  share of its encoded weights fits in that PE's remaining space, otherwise it
  streams from DRAM for every tile (the layer is ``dram_bound``). Resident
  weights are preloaded (not part of one inference's cycles or DRAM traffic).
- **DRAM** (:class:`DRAM`): a streamed layer's weights come in CSC column order,
  starting at the tile's first cycle: after ``dram_latency_cycles`` it delivers
  ``dram_bytes_per_cycle`` per cycle, so column ``j`` is on chip from cycle
  ``avail[j] = latency + ceil(bits(columns 0..j) / (8 * bytes_per_cycle))``.
  Columns the broadcast skips still stream, and a streamed tile ends no earlier
  than its stream (``avail[cols - 1]``): the next tile's stream needs the port. The broadcast waits for a column's
  weights, so PEs never run ahead of the stream; the extra cycles over the same
  tile with resident weights are the ``dram`` stall cycles.
- **Activation SRAM**: two ping-pong halves; a layer reads its input from one half
  (``act_bits`` per input activation per tile: the broadcast scans them all, zero or
  not) and the readout writes its output to the other. Only its reads and writes are
  counted (:func:`accelerators.sim.plan.layer_counts`); its capacity is no timing
  limit and is not checked.
- **Readout** (:class:`Readout`): after each tile, every PE reads out its
  accumulators, scales, applies the activation and writes back, ``lanes_per_pe``
  per cycle: ``ceil(ceil(rows / n_pe) / lanes_per_pe)`` cycles, during which no
  column is processed (``readout`` stall cycles). Tiles do not overlap.
"""

from __future__ import annotations

import numpy as np
import simpy

from .plan import LayerPlan
from .timing import tile_cycles

__all__ = ["DRAM", "WeightSRAM", "Broadcast", "PEArray", "Readout"]


class DRAM:
    """Off-chip weight stream: a latency, then a fixed number of bytes per cycle."""

    def __init__(self, env: simpy.Environment, latency_cycles: int, bytes_per_cycle: float):
        self.env, self.latency, self.bytes_per_cycle = env, latency_cycles, bytes_per_cycle
        # one transaction at a time; no port when used outside a simulation (analytical)
        self.port = simpy.Resource(env, capacity=1) if env is not None else None

    def arrivals(self, col_bits: np.ndarray) -> np.ndarray:
        """``avail[j]``: first cycle (from the stream's start) column ``j`` is on chip."""
        bits_per_cycle = 8.0 * self.bytes_per_cycle
        return self.latency + np.ceil(np.cumsum(col_bits) / bits_per_cycle).astype(np.int64)

    def stream(self, col_bits: np.ndarray):
        """Process: one transaction carrying a tile's weights."""
        with self.port.request() as req:
            yield req
            yield self.env.timeout(int(self.arrivals(col_bits)[-1]))


class WeightSRAM:
    """Per-PE weight SRAMs (and ``eie`` pointer SRAMs); decides which layers stay resident.

    ``pointer_bits_per_pe = 0`` means no separate pointer SRAM: ``eie`` column
    pointers then share the weight SRAM.
    """

    def __init__(self, env: simpy.Environment, n_pe: int, bits_per_pe: int, pointer_bits_per_pe=0):
        self.env = env
        self.used = np.zeros(n_pe, dtype=np.int64)
        self.ptr_used = np.zeros(n_pe, dtype=np.int64)
        self.bits_per_pe, self.pointer_bits_per_pe = bits_per_pe, pointer_bits_per_pe

    def place(self, plan: LayerPlan) -> bool:
        """True (resident) when every PE's share fits in its remaining space."""
        weights = plan.pe_bits
        if not plan.pointer_owners:  # no pointers: the pointer SRAMs stay as they are
            if (self.used + weights).max() > self.bits_per_pe:
                return False
            self.used += weights
            return True
        pointers = plan.pe_pointer_bits
        if self.pointer_bits_per_pe == 0:
            weights, pointers = weights + pointers, np.zeros_like(pointers)
        if (self.used + weights).max() <= self.bits_per_pe and (
            self.ptr_used + pointers
        ).max() <= self.pointer_bits_per_pe:
            self.used += weights
            self.ptr_used += pointers
            return True
        return False


class Broadcast:
    """Scans each tile's input vector; which columns it pushes (activation skipping).

    Pushes at most ``acts_per_cycle`` columns per cycle (rule 1 of
    :mod:`accelerators.sim.timing`).
    """

    def __init__(self, env: simpy.Environment, skip_activations: bool, acts_per_cycle: int = 1):
        self.env, self.skip_activations = env, skip_activations
        self.acts_per_cycle = acts_per_cycle

    def pattern_of(self, plan: LayerPlan, tile: int) -> int:
        """Index of the tile's pushed-column pattern in ``plan.patterns``."""
        return 0 if plan.patterns is None else tile


class PEArray:
    """``n_pe`` PEs with ``lanes_per_pe`` lanes and a ``fifo_depth`` activation FIFO each.

    Broadcast, FIFOs and PEs are coupled cycle by cycle through back-pressure, so
    their joint timing per tile is the recurrence of :mod:`accelerators.sim.timing`,
    evaluated once per distinct pushed-column pattern for the ``broadcast`` feeding them.
    """

    def __init__(
        self, env: simpy.Environment, n_pe: int, lanes: int, fifo_depth: int, broadcast: Broadcast
    ):
        self.env, self.n_pe, self.lanes, self.fifo_depth = env, n_pe, lanes, fifo_depth
        self.broadcast = broadcast

    def schedule(self, plan: LayerPlan, avail: np.ndarray | None = None) -> np.ndarray:
        """Compute cycles of each pattern of ``plan`` (P,)."""
        width = self.broadcast.acts_per_cycle
        return tile_cycles(plan.cost, self.fifo_depth, plan.patterns, avail, width)

    def run_tile(self, cycles: int):
        """Process: the PE array busy on one tile."""
        yield self.env.timeout(int(cycles))


class Readout:
    """Reads out, scales and activates the accumulators after each tile."""

    def __init__(self, env: simpy.Environment, n_pe: int, lanes: int):
        self.env, self.n_pe, self.lanes = env, n_pe, lanes

    def run(self, plan: LayerPlan):
        yield self.env.timeout(plan.readout_cycles)
