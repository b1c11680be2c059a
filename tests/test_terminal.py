"""``layerorder.terminal.as_text``: a view's renderables as the terminal prints them, without
colour or escape codes."""

from rich.table import Table

from layerorder.terminal import as_text


def test_markup_and_tables_come_out_as_plain_text():
    table = Table(title="t")
    table.add_column("order")
    table.add_column("mean", justify="right")
    table.add_row("[bold]x[/bold]", "91.20")
    text = as_text(["[bold]Verdict[/bold]: fine", table], width=40)
    assert "Verdict: fine" in text and "91.20" in text and "\x1b[" not in text
    assert max(len(line) for line in text.splitlines()) <= 40
