"""The report: info records computed from the store, then drawn into one HTML page (or Markdown).

>>> from layerorder.report import write_report
>>> write_report("layerorder.db", "report.html")
"""

from __future__ import annotations

from pathlib import Path

from layerorder.errors import LayerorderError
from layerorder.files import atomic_write_text, check_output, is_html_report
from layerorder.report.info import ReportInfo, build_info
from layerorder.store.location import as_file


class ReportError(LayerorderError, ValueError):
    """A report that cannot be written."""


def write_report(
    store_path: str | Path,
    output: str | Path,
    *,
    experiment: str | None = None,
    fmt: str = "html",
    run_ids=None,
    analysis=None,
    options: dict | None = None,
    lead: tuple[tuple[str, str, str], ...] = (),
) -> list[Path]:
    """Write the report of ``experiment`` (name or id; default: the latest) and return its files.
    ``run_ids`` limits it to those runs; ``analysis`` is theirs when already computed, else
    ``options`` (``margin``, ``baseline``) are the analysis options. ``lead``: HTML sections
    (id, title, body) put before the verdict."""
    from layerorder.report.html import render_html
    from layerorder.report.markdown import render_markdown
    from layerorder.store import Store, StoreError
    from layerorder.store.location import exists, shown

    out = check_report_path(output, store_path, fmt)
    if not exists(store_path):
        raise StoreError(f"no store at '{store_path}'; run 'layerorder compare' first")
    with Store.open(store_path, create=False, read_only=True) as store:
        exp = store.find_experiment(experiment) if experiment else store.latest_experiment()
        if exp is None:
            raise ReportError(f"store '{shown(store_path)}' holds no experiment yet")
        if not any(r.status in ("done", "diverged", "failed") for r in store.runs(exp.id)):
            raise ReportError(f"experiment '{exp.name}' has no finished runs to report yet")
        try:
            info = build_info(store, exp, run_ids, analysis, options)
        except ValueError as exc:  # e.g. a --baseline that is not among the stored orders
            raise ReportError(str(exc)) from None
    if fmt == "md":
        return render_markdown(info, out)
    atomic_write_text(out, render_html(info, lead))
    return [out]


def check_report_path(output, store_path, fmt: str = "html", what: str = "output") -> Path:
    """The report's path, refused before any work when it is the store, a folder, or a file
    that is not a layerorder report."""
    ours = is_html_report if fmt == "html" else (lambda head: head.startswith(b"# layerorder"))
    return check_output(output, what, store=as_file(store_path), ours=ours)


__all__ = ["ReportError", "ReportInfo", "build_info", "write_report"]
