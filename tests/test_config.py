"""The config schema: defaults spelled out, every key described, bad values named."""

from __future__ import annotations

import pytest

from conftest import PAPER, REPO, SMOKE, snakemake
from pvq.config import SCHEMA_PATH, ConfigError, apply_overlays, load_config, load_yaml, merge, validate


def schema_properties(schema, directory, prefix=""):
    if "$ref" in schema:  # a stage's schema file: descend into it
        yield from schema_properties(load_yaml(directory / schema["$ref"]), directory, prefix)
        return
    for name, sub in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        yield key, sub
        yield from schema_properties(sub, directory, f"{key}.")


def test_config_yaml_spells_out_exactly_the_schema_defaults():
    assert load_yaml(REPO / "config.yaml") == validate({})


def test_every_schema_key_has_a_description_and_default():
    for key, sub in schema_properties(load_yaml(SCHEMA_PATH), SCHEMA_PATH.parent):
        assert sub.get("description"), f"{key} has no description"
        assert "default" in sub, f"{key} has no default"


OVERLAYS = sorted((REPO / "configs").glob("*.yaml"))


def test_the_overlays_are_the_ones_the_readme_names():
    assert {SMOKE, PAPER, REPO / "configs" / "cpu-long.yaml", REPO / "configs" / "whole-layer.yaml"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.stem)
def test_overlays_validate_and_name_their_run(overlay):
    config = load_config(REPO / "config.yaml", overlay)
    assert config["run_name"] == overlay.stem


@pytest.mark.parametrize("config, message", [
    ({"analytic": {"bits": [1, 40]}}, "'analytic.bits[1]': 40 is greater than the maximum of 16"),
    ({"analytic": {"bits": []}}, "'analytic.bits'"),
    ({"analytic": {"profile": {"sparsity": -0.1}}}, "'analytic.profile.sparsity'"),
    ({"analytic": {"t_range": {"r_min": 5.0, "r_max": 3.0}}}, "'analytic.t_range.r_min': 5.0 exceeds"),
    ({"run_name": "../escape"}, "'run_name'"),
    ({"seeds": 1}, "unknown config key 'seeds'"),
    ({"analytic": {"profile": {"bitz": 4}}}, "unknown config key 'analytic.profile.bitz'"),
])
def test_errors_name_the_key(config, message):
    with pytest.raises(ConfigError, match=None) as caught:
        validate(config)
    assert message in str(caught.value)


def test_validation_does_not_mutate_its_input():
    config = {"analytic": {"bits": [2]}}
    validate(config)
    assert config == {"analytic": {"bits": [2]}}


MODEL_LISTS = ["zoo.models", "perlayer.models", "allocation.models", "finetune.models", "finetune.sensitivity.models",
               "finetune.representations.models", "ptq.models"]


def nested(key: str, value):
    config = value
    for part in reversed(key.split(".")):
        config = {part: config}
    return config


def schema_model_keys():
    """Every list or mapping of models in the schema: keys named models or listing model names."""
    return sorted(key for key, sub in schema_properties(load_yaml(SCHEMA_PATH), SCHEMA_PATH.parent)
                  if key.endswith("models") and sub.get("type") in ("array", "object"))


def test_the_model_lists_checked_here_are_all_the_schema_has():
    assert schema_model_keys() == sorted(MODEL_LISTS)


@pytest.mark.parametrize("key", MODEL_LISTS)
def test_an_empty_model_list_is_rejected_naming_the_key(key):
    empty = {} if key in ("perlayer.models", "finetune.models") else []
    with pytest.raises(ConfigError) as caught:
        validate(nested(key, empty))
    assert f"config key '{key}' is empty" in str(caught.value)
    assert "ask for their targets" in str(caught.value)


def test_ptq_joint_sparsity_and_methods_are_checked_naming_the_key():
    with pytest.raises(ConfigError, match=r"config key 'ptq.joint_sparsity': 0.3 gives sparsegpt\+gptq"):
        validate({"ptq": {"joint_sparsity": 0.3}})
    assert validate({"ptq": {"joint_sparsity": 0.3, "methods": ["gptq"]}})["ptq"]["methods"] == ["gptq"]
    with pytest.raises(ConfigError, match=r"config key 'ptq.methods\[0\]'"):
        validate({"ptq": {"methods": ["obs"]}})


def test_an_overlay_that_empties_a_mapping_is_honoured(tmp_path):
    named, overlay = tmp_path / "named.yaml", tmp_path / "overlay.yaml"
    named.write_text("finetune:\n  not_supported:\n    X: {metric: acc, reason: why}\n")
    overlay.write_text("finetune:\n  not_supported: {}\n")
    assert load_config(REPO / "config.yaml", PAPER, named)["finetune"]["not_supported"]  # a row named
    assert load_config(REPO / "config.yaml", PAPER, named, overlay)["finetune"]["not_supported"] == {}
    assert load_config(REPO / "config.yaml", PAPER)["finetune"]["not_supported"] == {}  # every Table 1 row runs
    overlay.write_text("perlayer:\n  models: {}\n")
    with pytest.raises(ConfigError, match="config key 'perlayer.models' is empty"):
        load_config(REPO / "config.yaml", overlay)


def test_merge_adds_to_a_mapping_empties_it_with_an_empty_one_and_replaces_lists():
    base = {"a": {"x": 1, "y": {"z": 2}}, "l": [1, 2]}
    assert merge(base, {"a": {"y": {"w": 3}}}) == {"a": {"x": 1, "y": {"z": 2, "w": 3}}, "l": [1, 2]}
    assert merge(base, {"a": {"y": {}}, "l": []}) == {"a": {"x": 1, "y": {}}, "l": []}
    assert base == {"a": {"x": 1, "y": {"z": 2}}, "l": [1, 2]}  # not mutated


def snakemake_update(config, overlay):
    """Snakemake's own merge of an overlay (snakemake.utils.update_config), on a copy."""
    import copy

    from snakemake.utils import update_config

    config = copy.deepcopy(config)
    update_config(config, overlay)
    return config


@pytest.mark.parametrize("overlays", [
    [{"a": {"y": {}}}],
    [{"a": {"y": {}}}, {"a": {"y": {"v": 5}}}],  # emptied, then refilled by a later overlay
    [{"a": {"y": {"v": 5}}}, {"a": {"y": {}}}],  # filled, then emptied
    [{"a": {"x": 7}, "l": [3]}, {"l": [4]}],      # no empty mapping: exactly Snakemake's result
])
def test_applying_overlays_again_on_snakemakes_merge_only_honours_empty_mappings(overlays):
    base = {"a": {"x": 1, "y": {"z": 2}}, "l": [1, 2]}
    snakemakes = base
    for overlay in overlays:
        snakemakes = snakemake_update(snakemakes, overlay)
    ours = base
    for overlay in overlays:
        ours = merge(ours, overlay)
    assert apply_overlays(snakemakes, overlays) == ours
    if not any(o.get("a", {}).get("y") == {} for o in overlays):
        assert ours == snakemakes


@pytest.mark.parametrize("overlay, key", [
    ("zoo:\n  models: []\n", "zoo.models"),
    ("perlayer:\n  models: {}\n", "perlayer.models"),  # Snakemake alone would keep the default layers
    ("finetune:\n  sensitivity:\n    models: []\n", "finetune.sensitivity.models"),
])
def test_snakemake_stops_on_an_emptied_model_list_before_any_job(tmp_path, overlay, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_name: bad\n" + overlay)
    result = snakemake("-n", "--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert f"config key '{key}' is empty" in result.stdout + result.stderr


def test_snakemake_honours_an_overlay_that_empties_a_mapping(tmp_path):
    named, extra = tmp_path / "named.yaml", tmp_path / "extra.yaml"
    named.write_text("finetune:\n  not_supported:\n    X: {metric: acc, reason: why}\n")
    extra.write_text("finetune:\n  not_supported: {}\n")
    shown = snakemake("table1", "-n", "-p", "--cores", "2", "--configfile", str(PAPER), str(named), str(extra),
                      workdir=tmp_path)
    assert '"not_supported": {}' in shown.stdout + shown.stderr  # Snakemake alone would keep row X
