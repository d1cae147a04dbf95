"""The bundled table's SRAM figures are the CACTI rows it cites (accelerators/data/cacti45_sram.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from accelerators.tech import load_tech

CSV = Path(__file__).resolve().parents[2] / "accelerators" / "data" / "cacti45_sram.csv"


def _rows(device: str) -> dict[float, dict[str, str]]:
    lines = [ln for ln in CSV.read_text().splitlines() if not ln.startswith("#")]
    rows = csv.DictReader(lines, skipinitialspace=True)
    return {
        int(r["Capacity (bytes)"]) / 1024: r
        for r in rows
        if r["device"] == device and r["Tech node (nm)"] == "45"
    }


def test_density_is_cacti_area_over_size():
    tech, rows = load_tech(), _rows("itrs-lstp")
    assert sorted(rows) == list(tech.sram_size_kib)
    for kib, density in zip(tech.sram_size_kib, tech.sram_density_mm2_per_kib, strict=True):
        assert density == pytest.approx(float(rows[kib]["Area (mm2)"]) / kib, rel=2e-4), kib


def test_sram_leakage_is_cacti_standby_leakage_over_area_at_128_kib():
    row = _rows("itrs-lstp")[128.0]
    mw_per_mm2 = float(row["Standby leakage per bank(mW)"]) / float(row["Area (mm2)"])
    # 1 mW/mm^2 = 0.001 uJ per mm^2 per us; the table rounds to two figures
    assert load_tech().leakage_sram_uj_per_mm2_us == pytest.approx(mw_per_mm2 / 1000, rel=0.01)


def test_the_other_devices_leak_far_more():
    # the comparison rows docs/validation.md quotes: 128 KiB, LOP 2.795 mW and HP 62.17 mW
    lstp, lop, hp = (
        float(_rows(d)[128.0]["Standby leakage per bank(mW)"])
        for d in ("itrs-lstp", "itrs-lop", "itrs-hp")
    )
    assert lstp < 0.01 < lop < hp
    assert lop == pytest.approx(2.79514) and hp == pytest.approx(62.1672)
