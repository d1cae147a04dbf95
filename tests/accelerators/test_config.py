import pytest

from accelerators import HardwareConfig, InputError, load_hw, parse_overrides, preset_names


def test_presets_load_and_differ():
    assert {"edge", "default", "large"} <= set(preset_names())
    edge, default, large = load_hw("edge"), load_hw("default"), load_hw("large")
    assert (edge.n_pe, edge.lanes_per_pe) == (16, 2)
    assert default == HardwareConfig() and (default.n_pe, default.lanes_per_pe) == (64, 4)
    assert (large.n_pe, large.lanes_per_pe) == (256, 8)


def test_overrides_are_coerced():
    cfg = load_hw("default").replace(
        **parse_overrides(["n_pe=128", "zero_skip=weights", "clock_mhz=1e3"])
    )
    assert (cfg.n_pe, cfg.zero_skip, cfg.clock_mhz) == (128, "weights", 1000.0)
    assert HardwareConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"n_pe": 0}, "n_pe"),
        ({"n_pe": -3}, "n_pe"),
        ({"lanes_per_pe": 0}, "lanes_per_pe"),
        ({"clock_mhz": 0.0}, "clock_mhz"),
        ({"act_bits": 33}, "act_bits"),
        ({"acc_bits": 4}, "acc_bits"),
        ({"index_bits": 0}, "index_bits"),
        ({"fifo_depth": 0}, "fifo_depth"),
        ({"weight_sram_kib_per_pe": -1.0}, "weight_sram_kib_per_pe"),
        ({"dram_bytes_per_cycle": 0.0}, "dram_bytes_per_cycle"),
        ({"zero_skip": "all"}, "zero_skip"),
        ({"weight_format": "coo"}, "weight_format"),
        ({"weight_format": "dense-binary", "zero_skip": "weights"}, "zero_skip"),
        ({"n_pe": 2.5}, "n_pe"),
        ({"n_pe": "8"}, "n_pe"),
    ],
)
def test_bad_values_name_the_field(kw, field):
    with pytest.raises(InputError) as err:
        HardwareConfig(**kw)
    assert err.value.field == field


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(InputError) as err:
        parse_overrides(["n_pes=4"])
    assert err.value.value == "n_pes" and "n_pe" in err.value.allowed
    with pytest.raises(InputError):
        HardwareConfig().replace(bogus=1)
    with pytest.raises(InputError) as err:
        parse_overrides(["n_pe=lots"])
    assert err.value.field == "n_pe"
    with pytest.raises(InputError):
        parse_overrides(["n_pe"])


def test_unknown_preset_and_bad_files(tmp_path):
    with pytest.raises(InputError, match="preset"):
        load_hw("huge")
    bad = tmp_path / "bad.toml"
    bad.write_text("n_pe = = 3\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_hw(bad)
    with pytest.raises(InputError, match="not found"):
        load_hw(tmp_path / "missing.toml")
    unknown = tmp_path / "u.toml"
    unknown.write_text("n_pe = 8\nwarp_drive = true\n")
    with pytest.raises(InputError) as err:
        load_hw(unknown)
    assert err.value.value == "warp_drive"
    good = tmp_path / "g.toml"
    good.write_text('n_pe = 8\nzero_skip = "none"\n')
    assert load_hw(good) == HardwareConfig(n_pe=8, zero_skip="none")


def test_a_bad_field_in_a_hardware_file_names_the_file(tmp_path):
    path = tmp_path / "my_hw.toml"
    path.write_text("n_pe = 64\nfifo_depth = 0\n")
    with pytest.raises(InputError) as err:
        load_hw(path)
    assert str(err.value).startswith(f"{path}: fifo_depth = 0 is not allowed: expected")
