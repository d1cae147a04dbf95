"""The accelerator wired from its blocks, and the collector that measures it.

:func:`build_accelerator` reads as the block diagram::

    DRAM --> WeightSRAM --> PEArray (n_pe x [FIFO -> PE lanes -> accumulators]) --> Readout
                              ^                                                      |
    act SRAM [half a]      -> Broadcast (leading-nonzero detector)                   |
    act SRAM [half b]      <---------------------------------------------------------+

Layers run one after another, and the tiles (output pixels) of a layer one after
another: each tile is one SimPy process for the PE array (its cycles from
:func:`accelerators.sim.timing.tile_cycles`) joined with a DRAM transaction when
the layer streams, then one readout. Measurement lives in :class:`Collector`.

Per-layer stall cycles add up exactly: ``cycles = ideal + imbalance +
column_lanes + broadcast + fifo + dram + readout``, where per tile ``ideal =
ceil(entries retired / (n_pe * lanes))``; the next four split the rest of the
tile with resident weights by cause (:func:`accelerators.sim.plan.onchip_stalls`:
load imbalance, lanes idle within a column, the broadcast's push rate, FIFO
back-pressure and pipeline fill), ``dram`` is the extra cycles of streaming
weights, and ``readout`` the readout cycles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import simpy

from ..config import HardwareConfig
from .accounting import layer_counts, onchip_stalls
from .blocks import DRAM, Broadcast, PEArray, Readout, WeightSRAM
from .plan import LayerPlan, plan_layer

__all__ = [
    "CountingEnvironment",
    "Collector",
    "LayerRecord",
    "Accelerator",
    "build_accelerator",
    "run_simpy",
]


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    def __init__(self, initial_time: int = 0):
        super().__init__(initial_time)
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


@dataclass
class LayerRecord:
    """What the collector measured for one layer."""

    name: str
    plan: LayerPlan
    resident: bool
    start: int = 0
    cycles: int = 0
    stall_cycles: dict[str, int] = field(default_factory=dict)
    pe_busy_cycles: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Collector:
    """Receives counts from the blocks; holds one :class:`LayerRecord` per layer."""

    def __init__(self) -> None:
        self.layers: dict[str, LayerRecord] = {}

    def open(self, plan: LayerPlan, resident: bool, now: int) -> LayerRecord:
        rec = LayerRecord(plan.tensor.name, plan, resident, start=now)
        self.layers[rec.name] = rec
        return rec

    def count(self, layer: str, action: str, n: int) -> None:
        self.layers[layer].counts[action] += int(n)


class Accelerator:
    """The wired blocks; :meth:`run` is the SimPy process of one inference."""

    def __init__(self, env, config, dram, weight_sram, broadcast, pe_array, readout, sink):
        self.env, self.config, self.sink = env, config, sink
        self.dram, self.weight_sram = dram, weight_sram
        self.broadcast, self.pe_array, self.readout = broadcast, pe_array, readout
        self.timing_memo: dict | None = None  # see run_simpy

    def _tile_cycles(self, plan: LayerPlan, resident: bool, seed: int):
        """``(onchip, timed)`` cycles of each tile pattern (timed: with the DRAM stream)."""
        key = (id(plan.tensor), self.config, resident, seed)
        memo = self.timing_memo
        if memo is not None and key in memo and memo[key][0] is plan.tensor:
            return memo[key][1]
        onchip = self.pe_array.schedule(plan)
        if resident:
            timed = onchip
        else:
            avail = self.dram.arrivals(plan.stream_col_bits)
            timed = np.maximum(self.pe_array.schedule(plan, avail), avail[-1])
        if memo is not None:
            memo[key] = (plan.tensor, (onchip, timed))
        return onchip, timed

    def run(self, g: nx.DiGraph, seed: int = 0):
        env, cfg = self.env, self.config
        for name in g.graph["order"]:
            plan = plan_layer(g, name, cfg, seed)
            resident = self.weight_sram.place(plan)
            rec = self.sink.open(plan, resident, env.now)
            onchip, timed = self._tile_cycles(plan, resident, seed)
            for tile in range(plan.tiles):
                k = self.broadcast.pattern_of(plan, tile)
                parts = [env.process(self.pe_array.run_tile(timed[k]))]
                if not resident:
                    parts.append(env.process(self.dram.stream(plan.stream_col_bits)))
                yield env.all_of(parts)
                yield env.process(self.readout.run(plan))
            self._account(rec, plan, onchip, timed)

    def _account(self, rec: LayerRecord, plan: LayerPlan, onchip, timed) -> None:
        cfg, reps = self.config, plan.pattern_repeats
        rec.cycles = self.env.now - rec.start
        rec.stall_cycles = onchip_stalls(plan, onchip, cfg.broadcast_acts_per_cycle)
        rec.stall_cycles["dram"] = int((timed - onchip) @ reps)
        rec.stall_cycles["readout"] = plan.readout_cycles * plan.tiles
        counts, busy = layer_counts(plan, cfg, rec.resident)
        for action, n in counts.items():
            self.sink.count(rec.name, action, n)
        rec.pe_busy_cycles = busy.tolist()


def build_accelerator(
    env: simpy.Environment, config: HardwareConfig, sink: Collector
) -> Accelerator:
    """Wire the blocks of the template for ``config``; measurements go to ``sink``."""
    c = config
    dram = DRAM(env, c.dram_latency_cycles, c.dram_bytes_per_cycle)
    weight_sram = WeightSRAM(env, c.n_pe, c.weight_sram_bits_per_pe, c.pointer_sram_bits_per_pe)
    broadcast = Broadcast(env, c.skip_activations, c.broadcast_acts_per_cycle)
    pe_array = PEArray(env, c.n_pe, c.lanes_per_pe, c.fifo_depth, broadcast)
    readout = Readout(env, c.n_pe, c.lanes_per_pe)
    return Accelerator(env, c, dram, weight_sram, broadcast, pe_array, readout, sink)


def run_simpy(
    g: nx.DiGraph, config: HardwareConfig, seed: int = 0, timing_memo: dict | None = None
) -> tuple[Collector, int, int]:
    """Simulate one inference: ``(collector, total cycles, SimPy events processed)``.

    ``timing_memo``: a dict the caller keeps across runs of variants of one
    network (what-if studies): a layer that is the very same ``LayerTensor``
    object, on the same config with the same residency, reuses its tile cycles
    instead of evaluating the recurrence again (the SimPy processes still run).
    """
    env = CountingEnvironment()
    sink = Collector()
    acc = build_accelerator(env, config, sink)
    acc.timing_memo = timing_memo
    env.process(acc.run(g, seed))
    env.run()
    return sink, int(env.now), env.events_processed
