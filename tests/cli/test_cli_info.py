from tests.helpers import run_cli, run_subprocess


def test_version_and_help(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("layerorder ")
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    for command in ("compare", "runs", "export", "orders", "datasets"):
        assert command in out


def test_orders_lists_presets_and_tokens(capsys):
    code, out, _ = run_cli(capsys, "orders")
    assert code == 0
    for text in ("standard", "conv-bn-relu-drop", "drop-before-bn", "leakyrelu", "full-preact"):
        assert text in out


def test_orders_explains_one_spec(capsys):
    code, out, _ = run_cli(capsys, "orders", "conv-relu-bn")
    assert code == 0
    assert "weight bias: on" in out and "output channels" in out
    code, out, _ = run_cli(capsys, "orders", "conv-bn-relu")
    assert "weight bias: off" in out


def test_datasets(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name in ("mnist1d", "mnist5k", "digits", "synthetic", "cifar10"):
        assert name in out
    code, out, _ = run_cli(capsys, "datasets", "mnist1d")
    assert code == 0 and "Greydanus" in out and "num_samples" in out


def test_wrong_spec_and_dataset_are_one_line_exit_2(capsys):
    for args, fragment in [
        (["orders", "conv-bnn-relu"], "did you mean 'bn'?"),
        (["datasets", "mnsit1d"], "did you mean 'mnist1d'?"),
    ]:
        code, _, err = run_cli(capsys, *args)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
        assert "Traceback" not in err


def test_debug_shows_traceback():
    proc = run_subprocess("--debug", "orders", "conv-bnn-relu")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_orders_lists_pool_tokens_and_placements(capsys):
    code, out, _ = run_cli(capsys, "orders")
    assert code == 0
    text = " ".join(out.split())
    assert "pool │ maxpool, avgpool" in text and "pool=maxpool" in text
    for spec in ("conv-bn-relu-maxpool", "conv-relu-maxpool-bn", "conv-maxpool-bn-relu",
                 "conv-relu-bn-maxpool"):
        assert spec in text
    code, out, _ = run_cli(capsys, "orders", "conv-relu-maxpool3s2-bn")
    text = " ".join(out.split())
    assert code == 0 and "max-pool 3x3, stride 2" in text
    assert "max-pool commutes with 'relu'" in text and "statistics over the pooled map" in text
