"""Finding studies: the built-in files shipped in ``layerorder/studies/builtin``, or a path."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from layerorder.errors import ConfigError, did_you_mean
from layerorder.experiment.configuration.config import load_toml
from layerorder.studies.spec import Study, parse_study

DEFAULT_STUDY_STORE = "layerorder-studies.db"  # the store of every study's runs, unless told


def builtin_dir() -> Path:
    return Path(str(resources.files("layerorder.studies") / "builtin"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def load_study(name_or_path: str | Path) -> Study:
    """A built-in study by name, or a study file by path (a user's own study)."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"study file '{text}' does not exist; check the path")
        return parse_study(load_toml(path), path)
    if text not in builtin_names():
        raise ConfigError(f"no built-in study '{text}'" + did_you_mean(text, builtin_names())
                          + "; 'layerorder study list' shows them, or give a .toml path")
    path = builtin_dir() / f"{text}.toml"
    return parse_study(load_toml(path), path)


def builtin_studies() -> list[Study]:
    return [load_study(name) for name in builtin_names()]
