"""The input a model takes when none is given: the target's own ``example_input``, or a
Hugging Face-style config (read by attribute, so plain objects stand in for configs)."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from layerorder.lint import lint_any, load_target
from layerorder.modelgraph.errors import LintError
from layerorder.modelgraph.inputs import config_input, decoder_fed
from tests.helpers import run_cli


class TokenModel(nn.Module):
    main_input_name = "input_ids"

    def __init__(self, positions=32):
        super().__init__()
        self.config = SimpleNamespace(vocab_size=50, max_position_embeddings=positions)
        self.emb, self.fc = nn.Embedding(50, 8), nn.Linear(8, 2)

    def forward(self, input_ids):
        return self.fc(self.emb(input_ids))


def test_token_ids_come_from_the_config():
    made = config_input(TokenModel())
    assert made.tensor.shape == (1, 16) and made.tensor.dtype == torch.long
    assert int(made.tensor.max()) < 50
    assert config_input(TokenModel(positions=8)).tensor.shape == (1, 8)
    assert config_input(nn.Linear(2, 2)) is None


def test_pixels_come_from_the_config():
    model = nn.Conv2d(3, 4, 3)
    model.main_input_name = "pixel_values"
    model.config = SimpleNamespace(image_size=24, num_channels=3)
    assert config_input(model).tensor.shape == (1, 3, 24, 24)


def test_an_encoder_decoder_gets_its_ids_twice():
    class EncDec(nn.Module):
        config = SimpleNamespace(is_encoder_decoder=True)

        def forward(self, input_ids, decoder_input_ids=None):
            return decoder_input_ids

    model, ids = EncDec(), torch.arange(4)
    with decoder_fed(model):
        assert model(ids) is ids
    assert model(ids) is None  # the hook is gone afterwards


def test_a_target_names_its_own_input(tmp_path, capsys):
    src = tmp_path / "tok.py"
    src.write_text(
        "import torch\nfrom torch import nn\n"
        "def make():\n"
        "    return nn.Sequential(nn.Embedding(30, 8), nn.Linear(8, 8), nn.Linear(8, 2))\n"
        "make.example_input = lambda: torch.randint(0, 30, (2, 5))\n"
        "def broken():\n    return nn.Linear(2, 2)\n"
        "broken.example_input = 'ids'\n"
    )
    loaded = load_target(f"{src}:make")
    assert loaded.example.shape == (2, 5)
    report = lint_any(f"{src}:make")  # the embedding needs ids: it ran on the named input
    assert [f.rule for f in report.findings] == ["no-nonlinearity"]
    code, out, err = run_cli(capsys, "lint", f"{src}:make")
    assert code == 0, err
    with pytest.raises(LintError, match="example_input is a str"):
        load_target(f"{src}:broken")
    code, out, err = run_cli(capsys, "lint", f"{src}:broken")
    assert code == 2 and "example_input is a str" in err and "Traceback" not in err
