"""What one layer costs on one config, from its :class:`~accelerators.sim.plan.LayerPlan`:
the actions it counts (:func:`layer_counts`, priced by :mod:`accelerators.costs`) and
its resident cycles above the ideal split by cause (:func:`onchip_stalls`).

Shared by the SimPy model and the analytical model, so both report the same counts
and name their stalls the same way.
"""

from __future__ import annotations

import numpy as np

from ..config import HardwareConfig
from .plan import LayerPlan, _ceil_div

__all__ = ["ONCHIP_STALLS", "layer_counts", "onchip_stalls"]


def _pushed_entries(plan: LayerPlan) -> tuple[int, int, int]:
    """``(stored entries, padding entries, columns)`` pushed over all of ``plan``'s tiles."""
    mask_total = plan.patterns.sum(axis=0)  # tiles pushing each column
    st = plan.stats
    return int(st.col_entries @ mask_total), int(st.col_padding @ mask_total), int(mask_total.sum())


def layer_counts(plan: LayerPlan, cfg: HardwareConfig, resident: bool) -> tuple[dict, np.ndarray]:
    """Counted actions of one layer (all tiles) and per-PE busy cycles (n_pe,).

    - ``adds``: entries retired (padding included; every walked pair without weight
      skipping); ``useful_adds``: nonzero weight x nonzero input activation among all
      the layer's products, whether or not the hardware skips the zero ones;
    - ``padding_entries``, ``index_decodes`` (stored entries decoded, 0 for dense formats);
    - ``weight_sram_read_bits``: stored weight bits of every pushed column, per tile
      (resident layers); ``pointer_sram_read_bits``: two column pointers per pushed
      column per PE owning rows (``eie``); ``dram_read_bits``: all the layer's stored
      bits, per tile (streamed layers), in ``dram_transactions`` (one per tile);
    - ``act_sram_read_bits``: ``cols x act_bits`` per tile (the broadcast scans every
      activation of a live column) plus, when empty columns are skipped, the
      live-column mask (one bit per input column) per tile;
      ``act_sram_write_bits``: ``rows x act_bits`` per tile;
    - ``broadcast_pushes``, ``fifo_pushes`` (= pushes x ``n_pe``), ``skipped_activations``
      (input activations not pushed: zero ones and those of empty columns);
    - ``readout_ops``: ``rows`` per tile.
    - busy cycles: cycles in which a PE works on a column (retires entries or, for
      ``eie``, reads its pointers).
    """
    st, tiles, rows, cols = plan.stats, plan.tiles, plan.rows, plan.cols
    if plan.patterns is None:
        entries, padding, pushed = st.total_entries * tiles, st.total_padding * tiles, cols * tiles
        busy = plan.pe_cost_all * tiles if tiles > 1 else plan.pe_cost_all
    else:
        entries, padding, pushed = plan.kept("pushed_entries", lambda: _pushed_entries(plan))
        busy = plan.kept("pe_busy", lambda: plan.pe_cost_pushed.sum(axis=0))
    sparse, bits = cfg.sparse_format, cfg.bits_per_entry
    totals = {  # the stream's entries over every pushed column, or every owned pair
        "adds": entries if cfg.skip_weights else rows * pushed,
        "padding_entries": padding if cfg.skip_weights else 0,
        "index_decodes": entries if sparse else 0,
        "weight_sram_read_bits": (entries if sparse else rows * pushed) * bits,
    }
    if plan.acts is None:
        totals["useful_adds"] = st.nnz * tiles
    else:
        totals["useful_adds"] = plan.kept(
            "useful", lambda: int(plan.nnz_col @ plan.acts.sum(axis=0))
        )
    if not resident:
        totals["weight_sram_read_bits"] = 0
    counts = {k: int(v) for k, v in totals.items()}  # python ints (sums may be numpy)
    counts.update(
        pointer_sram_read_bits=pushed * 2 * plan.pointer_owners * cfg.pointer_bits
        if resident
        else 0,
        dram_read_bits=0 if resident else (plan.stored_bits - st.mask_bits) * tiles,
        dram_transactions=0 if resident else tiles,
        act_sram_read_bits=(cols * cfg.act_bits + st.mask_bits) * tiles,
        act_sram_write_bits=rows * tiles * cfg.act_bits,
        broadcast_pushes=pushed,
        fifo_pushes=pushed * cfg.n_pe,
        skipped_activations=plan.tensor.cols * tiles - pushed,
        readout_ops=rows * tiles,
    )
    return counts, busy


#: the causes :func:`onchip_stalls` splits a tile's resident cycles above the ideal into
ONCHIP_STALLS = ("imbalance", "column_lanes", "broadcast", "fifo")


def onchip_stalls(plan: LayerPlan, onchip, width: int) -> dict[str, int]:
    """The layer's cycles with resident weights above the ideal ``ceil(slots / (n_pe x
    lanes))`` per tile, split by cause and summed over its tiles (cycles).

    ``onchip``: each tile pattern's cycles with resident weights, (P,) (one entry when
    every tile pushes every column). Per tile, four lower bounds, each at least the
    one before, are passed in turn (each clipped to the tile's cycles, so the parts
    are >= 0 and add up exactly):

    - ``imbalance``: up to the busiest PE's slots over its lanes, ``max_p ceil(E_p /
      lanes)``: the PEs hold unequal work;
    - ``column_lanes``: up to the busiest PE's cycles ``max_p sum_j ceil(w_pj / lanes)``:
      a PE works one column at a time, so lanes idle on columns that hold fewer
      entries than lanes;
    - ``broadcast``: up to ``ceil(pushed columns / broadcast_acts_per_cycle)``: the
      push rate;
    - ``fifo``: the rest: FIFO back-pressure and the pipeline's fill (a column is
      visible the cycle after its push).

    >>> from accelerators import HardwareConfig, LayerTensor, workload_from_tensors
    >>> from accelerators.sim.plan import plan_layer
    >>> w = np.array([[1, 1, 1, 0], [1, 0, 0, 0]])   # PE0 owns row 0, PE1 row 1
    >>> g = workload_from_tensors([LayerTensor("fc", w)])
    >>> cfg = HardwareConfig(n_pe=2, lanes_per_pe=2, index_bits=4, broadcast_acts_per_cycle=1)
    >>> plan = plan_layer(g, "fc", cfg)
    >>> # ideal ceil(4 / 4) = 1; busiest ceil(3 / 2) = 2; PE0 1 + 1 + 1 = 3 cycles; 4 pushes at 1
    >>> # per cycle: 4; FIFO depth 1 makes the tile sum(1 + max cost) = 2 + 2 + 2 + 1 = 7
    >>> onchip_stalls(plan, np.array([7]), 1)
    {'imbalance': 1, 'column_lanes': 1, 'broadcast': 1, 'fifo': 3}
    """
    key = (int(width), plan.patterns is None)  # kept's key lacks activation skipping
    bounds = plan.kept("stall_bounds", lambda: _stall_bounds(plan, int(width)), *key)
    if plan.patterns is None:  # one pattern for every tile: python ints
        on = int(onchip[0])
        levels = [min(b, on) for b in bounds] + [on]
        return {k: (levels[i + 1] - levels[i]) * plan.tiles for i, k in enumerate(ONCHIP_STALLS)}
    onchip = np.asarray(onchip, dtype=np.int64)
    levels = np.minimum(bounds, onchip)  # (4, P)
    parts = np.diff(levels, axis=0, append=onchip[None, :]) @ plan.pattern_repeats
    return dict(zip(ONCHIP_STALLS, parts.tolist(), strict=True))


def _stall_bounds(plan: LayerPlan, width: int) -> tuple:
    """The four per-tile bounds of :func:`onchip_stalls`: ints (one pattern) or a (4, P)
    array; they depend on neither the FIFO depth nor the memories (kept per plan group)."""
    lanes, per_lane = plan.lanes, plan.cfg.n_pe * plan.lanes
    if plan.patterns is None:
        pe_cycles = plan.pe_cost_max
        return (
            -(-plan.slot_total // per_lane),
            -(-plan.pe_slots_max // lanes),
            pe_cycles,
            max(pe_cycles, -(-plan.cols // width)),
        )
    slots = plan.pe_slots_pushed
    pe_cycles = plan.pe_cost_pushed.max(axis=1, initial=0)
    pushes = plan.patterns.sum(axis=1, dtype=np.int64)
    return np.stack(
        [
            _ceil_div(slots.sum(axis=1), per_lane),
            _ceil_div(slots.max(axis=1, initial=0), lanes),
            pe_cycles,
            np.maximum(pe_cycles, _ceil_div(pushes, width)),
        ]
    )
