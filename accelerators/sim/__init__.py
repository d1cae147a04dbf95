"""The SimPy model of the sparse ternary accelerator (one module per concern).

- :mod:`.timing`: the exact per-tile timing rules of broadcast, FIFOs and PEs;
- :mod:`.plan`: what a layer asks of each PE (work, storage, patterns);
- :mod:`.blocks`: one class per hardware block;
- :mod:`.accelerator`: :func:`build_accelerator` wires them; :class:`Collector` measures.
"""

from .accelerator import Accelerator, Collector, CountingEnvironment, build_accelerator, run_simpy
from .plan import LayerPlan, plan_layer
from .timing import tile_cycles

__all__ = [
    "Accelerator",
    "Collector",
    "CountingEnvironment",
    "LayerPlan",
    "build_accelerator",
    "plan_layer",
    "run_simpy",
    "tile_cycles",
]
