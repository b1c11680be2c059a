"""Packages whose names are imported on first use (``layerorder.lazy``): a name is imported only
when it is read, once, and a name the package does not have is an AttributeError."""

from __future__ import annotations

import sys

import pytest

INIT = '''
from layerorder.lazy import lazy_names

_LAZY = {"VALUE": "heavy", "sub": None}
__getattr__, __dir__ = lazy_names(__name__, _LAZY)
'''


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "lazypkg"
    (root / "sub").mkdir(parents=True)
    (root / "__init__.py").write_text(INIT)
    (root / "heavy.py").write_text("import sys\nVALUE = 42\nLOADS = sys.modules\n")
    (root / "sub" / "__init__.py").write_text("NAME = 'sub'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m.split(".")[0] == "lazypkg"]:
        del sys.modules[name]


def test_a_name_is_imported_when_read_and_kept(package):
    import lazypkg

    assert "lazypkg.heavy" not in sys.modules
    assert lazypkg.VALUE == 42
    assert "lazypkg.heavy" in sys.modules
    assert vars(lazypkg)["VALUE"] == 42  # kept: later reads skip the look-up
    from lazypkg import VALUE

    assert VALUE == 42


def test_a_subpackage_and_dir_and_unknown_names(package):
    import lazypkg

    assert lazypkg.sub.NAME == "sub"
    assert {"VALUE", "sub"} <= set(dir(lazypkg))
    with pytest.raises(AttributeError, match="lazypkg' has no attribute 'nope'"):
        _ = lazypkg.nope


def test_the_packages_public_names_all_resolve_to_what_they_name():
    """Every name each lazy package of layerorder declares is really there, and is not shadowed
    by a submodule of the same name once every submodule has been imported (importing a module
    sets it as its package's attribute, and then the lazy look-up never runs)."""
    import importlib
    import pkgutil
    import types

    names = ("layerorder", "layerorder.export", "layerorder.lint", "layerorder.modelgraph",
             "layerorder.probe", "layerorder.search", "layerorder.studies")
    for name in names:
        package = importlib.import_module(name)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name != "__main__":  # running it is the command line
                importlib.import_module(f"{name}.{info.name}")
    for name in names:
        package = importlib.import_module(name)
        for public in package.__all__:
            value = getattr(package, public)
            subpackage = package._LAZY.get(public, "") is None
            assert value is not None, f"{name}.{public}"
            assert subpackage or not isinstance(value, types.ModuleType), f"{name}.{public}"
