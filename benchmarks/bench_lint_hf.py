"""Lint speed on small Hugging Face models (2 layers, random weights from a config), beyond the
``transformers`` import: building the model, one lint (role graph by forward hooks, census,
rules, Transformer stacks), and for scale one plain forward pass on the same input, timed in the
same run (the ratio is lint time over that pass). Target: lint under 10 s per model here.

The whole command, as a user runs it (``layerorder lint FILE.py:gpt2``, a fresh process with
its imports), is timed too, against ``python -c "import transformers, torch"``.

    python benchmarks/bench_lint_hf.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import torch
from bench_lint import timed  # a warm-up call, then the median of the repeats

from layerorder.lint import lint_model
from layerorder.modelgraph.inputs import config_input

MODELS = Path(__file__).resolve().parents[1] / "tests" / "lint" / "hf_models.py"
NAMES = ("bert", "gpt2", "llama", "t5_encoder", "vit")
TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(MODELS.parent))
    import hf_models

    print(f"{'model':<12} {'lint s':>8} {'forward s':>10} {'ratio':>7}  target < {TARGET_S} s")
    for name in NAMES:
        model = getattr(hf_models, name)().eval()
        example = config_input(model).tensor
        lint_s = timed(lambda m=model: lint_model(m), args.repeats)
        with torch.no_grad():
            forward_s = timed(lambda m=model, x=example: m(x), args.repeats)
        print(f"{name:<12} {lint_s:>8.3f} {forward_s:>10.4f} {lint_s / forward_s:>7.0f}x")
    command = [sys.executable, "-m", "layerorder", "lint", f"{MODELS}:gpt2"]
    reference = [sys.executable, "-c", "import transformers, torch, transformers.models.gpt2"]
    whole = timed(lambda: subprocess.run(command, capture_output=True, check=True), 1)
    imports = timed(lambda: subprocess.run(reference, capture_output=True, check=True), 1)
    print(f"\nlayerorder lint hf_models.py:gpt2, whole command: {whole:.2f} s; importing torch and"
          f" transformers alone: {imports:.2f} s; the rest: {whole - imports:.2f} s")


if __name__ == "__main__":
    main()
