"""Re-run the CACTI 7 SRAM macros behind tech45.toml's SRAM density and leakage ([C7]).

Needs CACTI and the Accelergy/hwcomponents plug-in's default configuration, both in the
PyPI package hwcomponents-cacti (1.0.40 was used; it needs Python >= 3.12 to install,
so fetch the wheel with ``pip download --no-deps --python-version 3.12
--only-binary=:all: hwcomponents-cacti`` and unzip it). Build CACTI from the shipped
source if its binary does not run (``make opt`` in ``hwcomponents_cacti/cacti``), then:

    python benchmarks/cacti_sram45.py PATH/TO/hwcomponents_cacti [--device itrs-lstp]

It prints one CSV row per macro (8, 32, 64, 128 and 1024 KiB, 64 bits wide, 45 nm),
as in accelerators/data/cacti45_sram.csv, with the device named in the first column.
The input is the plug-in's default_cfg.cfg followed by the lines the plug-in appends
for one SRAM (hwcomponents_cacti.py, _call_cacti); --device swaps its itrs-lstp cells
and periphery for another ITRS device.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

SIZES_KIB = (8, 32, 64, 128, 1024)


def config_text(default_cfg: str, kib: int, device: str) -> str:
    return default_cfg.replace("itrs-lstp", device) + (
        "\n############## User-Specified Hardware Attributes ##############\n"
        f"-size (bytes) {kib * 1024}\n-read-write port  1\n-block size (bytes) 8\n"
        "-technology (u) 0.045\n-output/input bus width  64\n-UCA bank 1\n"
        '-cache type "ram"\n-tag size (b) 0\n-associativity 1\n'
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("plugin_dir", type=Path, help="the unpacked hwcomponents_cacti directory")
    ap.add_argument("--device", default="itrs-lstp", choices=["itrs-lstp", "itrs-lop", "itrs-hp"])
    args = ap.parse_args()
    cacti_dir = args.plugin_dir / "cacti"
    default_cfg = (args.plugin_dir / "default_cfg.cfg").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        header_done = False
        for kib in SIZES_KIB:
            cfg = Path(tmp) / f"sram_{kib}k.cfg"
            cfg.write_text(config_text(default_cfg, kib, args.device))
            subprocess.run(
                ["./cacti", "-infile", str(cfg)],
                cwd=cacti_dir,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            lines = Path(f"{cfg}.out").read_text().splitlines()  # CACTI writes CFG.out
            if not header_done:
                print(f"device, {lines[0]}")
                header_done = True
            print(f"{args.device}, {lines[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
