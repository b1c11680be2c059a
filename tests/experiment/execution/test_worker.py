"""``execution.worker``: what each run stores of where it ran."""

from layerorder.experiment.execution import worker


def test_a_runs_provenance_names_its_own_gpu(monkeypatch):
    """A run on ``cuda:1`` stores the name of GPU 1, not of GPU 0."""
    asked = []
    monkeypatch.setattr(worker.torch.cuda, "get_device_name",
                        lambda device=None: asked.append(device) or f"GPU named by {device}")
    assert worker.provenance("cuda:1")["device_name"] == "GPU named by cuda:1"
    assert asked == ["cuda:1"]
