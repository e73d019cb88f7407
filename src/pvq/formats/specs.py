"""The configured method specs, parsed once: a bad or repeated one is a config error naming its key."""

from __future__ import annotations

from pvq.config import ConfigError
from pvq.methods import SpecError, format_spec, parse


def checked_methods(specs, key: str = "formats.specs") -> dict[str, object]:
    """Canonical spec -> method, in the given order; ConfigError naming ``key[i]`` for a spec that
    does not parse or names the same method as an earlier one."""
    methods: dict[str, object] = {}
    problems = []
    for i, text in enumerate(specs):
        try:
            method = parse(text)
        except SpecError as error:
            problems.append(f"config key '{key}[{i}]': {error}")
            continue
        canonical = format_spec(method)
        if canonical in methods:
            problems.append(f"config key '{key}[{i}]': {text!r} is the method {canonical!r} again")
        methods[canonical] = method
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return methods
