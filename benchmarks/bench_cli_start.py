"""How long the commands that only answer take, from a fresh process, against ``python -c pass``
and ``python -c "import torch"`` measured in the same run (the target: under 1 s each here).

Each command runs as a user types it (``python -m layerorder ...``, the console script's own
entry point) ``--repeat`` times; the median wall time is printed with its ratio to the bare
interpreter's and to an import of torch alone.

    python benchmarks/bench_cli_start.py            # 7 repeats
    python benchmarks/bench_cli_start.py --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "--version": ["--version"],
    "--help": ["--help"],
    "compare --help": ["compare", "--help"],
    "a mistyped option": ["compare", "--seed", "3"],
    "orders": ["orders"],
    "datasets": ["datasets"],
    "study list": ["study", "list"],
}
REFERENCES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def seconds(cmd: list[str], repeat: int, cwd: str) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, cwd=cwd, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = seconds(REFERENCES["python -c pass"], args.repeat, tmp)
        torch = seconds(REFERENCES["python -c 'import torch'"], args.repeat, tmp)
        print(f"{'command':28} {'median s':>9} {'x pass':>8} {'x torch':>8}")
        print(f"{'python -c pass':28} {bare:9.3f} {1:8.1f} {bare / torch:8.2f}")
        print(f"{'python -c import torch':28} {torch:9.3f} {torch / bare:8.1f} {1:8.2f}")
        for name, argv in COMMANDS.items():
            t = seconds([sys.executable, "-m", "layerorder", *argv], args.repeat, tmp)
            verdict = "under 1 s" if t < 1.0 else "OVER 1 s"
            print(f"layerorder {name:17} {t:9.3f} {t / bare:8.1f} {t / torch:8.2f}  {verdict}")


if __name__ == "__main__":
    main()
