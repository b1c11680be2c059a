"""The console and the report of one ``compare`` describe the same runs, even when the store
holds other seeds of the same experiment from earlier commands."""

from __future__ import annotations

import html
import json
import re

from tests.helpers import TINY, run_cli


def test_compare_report_covers_exactly_the_commands_runs(tmp_path, capsys):
    db = tmp_path / "s.db"
    base = ["compare", *TINY, "--order", "standard,preact", "--store", db]
    code, _, err = run_cli(capsys, *base, "--seeds", "0,1,2,3", "--no-report")
    assert code == 0, err
    page = tmp_path / "r.html"
    code, out, err = run_cli(capsys, *base, "--seeds", "7,8", "--report-path", page, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n_runs"] == 4 and "over 2 seeds" in result["title"]
    text = html.unescape(page.read_text())
    assert re.search(r"; 4 runs</p>", text)  # not the 12 runs the experiment holds
    verdict = re.search(r'<p class="verdict">(.*?)</p>', text, re.S).group(1)
    assert verdict == result["verdict"]["text"]
