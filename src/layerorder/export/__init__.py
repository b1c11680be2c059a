"""``layerorder export``: the store's runs and probe records, as rows (CSV, JSON, Parquet) or
into the tools practitioners already read: TensorBoard event files and MLflow runs."""

from layerorder.lazy import lazy_names

# public name -> the module that defines it, imported on first use (``WHAT``'s names are read by
# the command line without the statistics or torch)
_LAZY = {
    **dict.fromkeys(
        ("PROBE_FIELDS", "RUN_FIELDS", "WHAT", "ExportTable", "epoch_rows", "finite_number",
         "probe_header", "probe_rows", "run_fields", "runs_with_epochs", "write_parquet"),
        "rows",
    ),
    "probe_row": "layerorder.probe.training",
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
