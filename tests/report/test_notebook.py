"""Figures in a real Jupyter kernel (nbclient), with no ``%matplotlib`` magic: ``Results.plot()``
shows a PNG image, ``ProbeResults.plot()`` its images, and neither picks a backend or changes
matplotlib's settings in the user's kernel."""

from __future__ import annotations

import base64

import pytest

MISSING = "is not installed (pip install -e '.[test]')"
nbformat = pytest.importorskip("nbformat", reason=f"nbformat {MISSING}")
nbclient = pytest.importorskip("nbclient", reason=f"nbclient {MISSING}")
pytest.importorskip("ipykernel", reason=f"ipykernel {MISSING}")

CELLS = [
    "import matplotlib, layerorder\n"
    "backend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
    "res = layerorder.compare(dataset='synthetic', data_options={'num_samples': 200}, arch='mlp',"
    " width=8, epochs=2, seeds=2, executor='sequential', store='s.db', progress=False)",
    "res.plot()",
    "layerorder.probe_orders(dataset='synthetic', data_options={'num_samples': 200}, arch='mlp',"
    " width=8, epochs=1).plot()",
    "assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == params\n"
    "print('UNCHANGED')",
]


@pytest.mark.slow
def test_plots_show_as_images_in_a_kernel(tmp_path):
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in book.cells]
    (curves,) = outputs[1]
    png = base64.b64decode(curves["data"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (histograms,) = outputs[2]
    html = histograms["data"]["text/html"]
    assert html.count('src="data:image/png;base64,') == 2  # one per order
    assert any("UNCHANGED" in o.get("text", "") for o in outputs[3])
