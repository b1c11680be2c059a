"""Errors that mean "the user asked for something that cannot be done".

The CLI turns every ``LayerorderError`` into one line on stderr and exit code 2.
Each carries a message that names the problem and, where there is one, the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LayerorderError(Exception):
    """Base class for user-facing errors."""


class ConfigError(LayerorderError, ValueError):
    """An experiment configuration (flags or TOML) is invalid."""


class BlockError(LayerorderError, ValueError):
    """A block that cannot be built as asked."""


class ModelError(LayerorderError, ValueError):
    """A model that cannot be built as asked."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The closest valid choice to ``word``, or None when nothing is close."""
    matches = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A suffix like "; did you mean 'bn'?" or a list of the valid choices."""
    choices = sorted(set(choices))
    match = closest(word, choices)
    if match is not None:
        return f"; did you mean '{match}'?"
    return f"; choose one of: {', '.join(choices)}"


class EnvironmentFault(LayerorderError):
    """The machine, not the user's input: a full disk, a locked, damaged or vanished store.
    The CLI exits with code 3 (2 is for the user's input, 130 for an interrupt)."""
