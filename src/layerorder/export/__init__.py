"""``layerorder export``: the store's runs and probe records, as rows (CSV, JSON, Parquet) or
into the tools practitioners already read: TensorBoard event files and MLflow runs."""

from layerorder.export.rows import (
    PROBE_FIELDS,
    RUN_FIELDS,
    WHAT,
    ExportTable,
    epoch_rows,
    finite_number,
    probe_header,
    probe_row,
    probe_rows,
    run_fields,
    runs_with_epochs,
    write_parquet,
)

__all__ = [
    "PROBE_FIELDS",
    "RUN_FIELDS",
    "WHAT",
    "ExportTable",
    "epoch_rows",
    "finite_number",
    "probe_header",
    "probe_row",
    "probe_rows",
    "run_fields",
    "runs_with_epochs",
    "write_parquet",
]
