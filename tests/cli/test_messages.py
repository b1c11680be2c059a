"""Every ``layerorder ...`` command the package quotes (in a fix, a hint, an error, a report or a
docstring) names a real command and only options it has, each with its value: parsed by the
real CLI's own parser, so a renamed option breaks this test instead of a user's paste."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer

import layerorder
from layerorder.cli.app import app
from layerorder.cli.compat import USAGE_ERRORS

PACKAGE = Path(layerorder.__file__).parent
HOLE = "VALUE"  # what an f-string's {expression} stands for
# a quote runs to the end of its line, a backtick, a double quote, ';' or a bracket; a value in
# single quotes inside it ('{model}') is part of it
QUOTED = re.compile(r"layerorder ([a-z][a-z-]*(?:(?: |'[^'\n]*')(?:[^`'\"\n;()]|'[^'\n]*')*)?)")


def _texts(tree: ast.AST):
    """Each string of a module with its line: constants, and f-strings whole, with their holes
    (never their literal parts alone)."""
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(
                v.value if isinstance(v, ast.Constant) else HOLE for v in node.values)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in parts):
            yield node.lineno, node.value


def quoted_commands(root: Path = PACKAGE) -> list[tuple[str, str]]:
    """(where, command line) for every ``layerorder <command> ...`` in the strings of the
    modules under ``root`` (the package)."""
    names = set(typer.main.get_command(app).commands)
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _texts(tree):
            for match in QUOTED.finditer(" ".join(text.split())):
                words = match.group(1).split()
                if words and words[0] in names:
                    out.append((f"{path.relative_to(root.parent)}:{line}", match.group(1)))
    return out


def _parse(line: str) -> None:
    """Walk the command path, then parse the options with that command's own parser (names
    and arity; values are not converted, so placeholders such as FILE pass)."""
    command = typer.main.get_command(app)
    words = shlex.split(line.replace("...", f" {HOLE}").rstrip(".,: "), posix=True)  # a value
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    if hasattr(command, "commands"):
        if words and re.fullmatch(r"[a-z][a-z-]*", words[0]):  # a subcommand it does not have
            raise USAGE_ERRORS[0](f"no command '{words[0]}' in '{command.name}'")
        return  # the group itself ('layerorder study'): its subcommand is the reader's choice
    ctx = command.context_class(command, info_name=command.name)
    parser = command.make_parser(ctx)
    parser.parse_args([w for w in words if w not in ("\\", "|")])


COMMANDS = quoted_commands()


def test_the_package_quotes_commands():
    assert len(COMMANDS) > 20, COMMANDS  # the scan finds them (a broken pattern finds none)


@pytest.mark.parametrize("where, line", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_quoted_command_parses(where, line):
    try:
        _parse(line)
    except USAGE_ERRORS as exc:
        pytest.fail(f"{where}: 'layerorder {line}': {exc.format_message()}")


def test_a_wrong_option_is_caught():
    with pytest.raises(USAGE_ERRORS, match="--orders"):
        _parse("compare --orders standard,act-first")
    with pytest.raises(USAGE_ERRORS, match="runn"):
        _parse("study runn bn-placement")


def test_the_scan_reads_a_quote_to_its_end(tmp_path):
    """An f-string's holes, a value in single quotes and the options after it are all read."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text(
        "x = 1\nA = f\"apply it: layerorder rewrite '{x}' --to preact -o best.pt\"\n")
    (found,) = quoted_commands(package)
    assert found == ("pkg/m.py:2", "rewrite 'VALUE' --to preact -o best.pt")
