"""The config schema: defaults spelled out, every key described, bad values named."""

from __future__ import annotations

import pytest

from conftest import PAPER, REPO, SMOKE
from pvq.config import SCHEMA_PATH, ConfigError, load_config, load_yaml, validate


def schema_properties(schema, directory, prefix=""):
    if "$ref" in schema:
        return schema_properties(load_yaml(directory / schema["$ref"]), directory, prefix)
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


@pytest.mark.parametrize("overlay", [SMOKE, PAPER], ids=["smoke", "paper"])
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
