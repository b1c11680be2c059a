"""The README's notebook example in a real Jupyter kernel (nbclient), with no ``%matplotlib``
magic, under the default executor (a kernel has no ``__main__`` file for pool workers to import):
its runs, curves and report are what it says; its progress is one output updated in place,
whatever the number of runs; the results, the verdict and a lint report show as HTML;
``Results.plot()`` shows a PNG image and ``ProbeResults.plot()`` its images; and nothing picks a
backend or changes matplotlib's settings in the user's kernel."""

from __future__ import annotations

import base64

import pytest

from tests.test_readme import notebook_example

MISSING = "is not installed (pip install -e '.[test]')"
nbformat = pytest.importorskip("nbformat", reason=f"nbformat {MISSING}")
nbclient = pytest.importorskip("nbclient", reason=f"nbclient {MISSING}")
pytest.importorskip("ipykernel", reason=f"ipykernel {MISSING}")

CELLS = [
    "import matplotlib\nbackend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)",
    notebook_example(),  # 2 orders x 3 seeds: a line per run would be 6 outputs
    # what the example made, under the default executor (no __main__ file in a kernel)
    "import os\n"
    "df = results.to_pandas()\n"
    "assert len(df) == 6 and set(df.status) == {'done'}, df\n"
    "assert len(curves) == 6 * 5 and 'is best' in results.verdict.text\n"
    "assert os.path.exists('notebook-report.html')\n"
    "print('README-EXAMPLE-OK')",
    "results",
    "results.verdict",
    "results.plot()",
    "layerorder.probe_orders(dataset='synthetic', data_options={'num_samples': 200}, arch='mlp',"
    " width=8, epochs=1).plot()",
    "layerorder.lint_model(make_model(), (2, 20))",
    "assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == params\n"
    "print('UNCHANGED')",
]


def _html(outputs) -> str:
    (shown,) = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result")]
    return shown["data"]["text/html"]


@pytest.mark.slow
def test_the_readme_example_in_a_kernel(tmp_path):
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [cell.outputs for cell in book.cells]
    example = outputs[1]
    progress = [o for o in example if "layerorder-progress" in o.get("data", {}).get(
        "text/html", "")]
    assert len(progress) == 1 and len(example) <= 3, [o.get("output_type") for o in example]
    final = progress[0]["data"]["text/plain"]
    assert "6 / 6 runs" in final and "elapsed" in final
    assert any("README-EXAMPLE-OK" in o.get("text", "") for o in outputs[2])
    shown = _html(outputs[3])
    assert "<table" in shown and "Verdict" in shown and "linear-relu-bn-drop" in shown
    assert _html(outputs[4]).startswith("<p><strong>Verdict</strong>")
    (curves,) = outputs[5]
    png = base64.b64decode(curves["data"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert _html(outputs[6]).count('src="data:image/png;base64,') == 2  # one per order
    assert "<table" in _html(outputs[7])
    assert any("UNCHANGED" in o.get("text", "") for o in outputs[8])
