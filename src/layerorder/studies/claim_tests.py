"""A claim's test parsed from its TOML keys: the registry ``claims.TESTS`` filled by every module
that defines tests (imported here, so the registry is complete and ``claims`` itself imports none
of them)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from layerorder.errors import ConfigError, did_you_mean
from layerorder.studies import accuracy_claims, function_claims, probe_claims  # noqa: F401
from layerorder.studies.claims import TESTS


def parse_test(kind: str, params: dict[str, Any], where: str):
    """The test record of a claim: ``kind`` names it, ``params`` are its keys."""
    if kind not in TESTS:
        raise ConfigError(f"{where}: unknown test '{kind}'" + did_you_mean(kind, TESTS))
    cls = TESTS[kind]
    names = [f.name for f in fields(cls)]
    for key in params:
        if key not in names:
            raise ConfigError(f"{where}: test '{kind}' takes no key '{key}'"
                              + did_you_mean(key, names))
    return cls.parse(params, where)
