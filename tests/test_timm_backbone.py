"""`arch: timm:<name>` with `pretrained_weights`: a small timm model's saved weights load through the config (its
classifier dropped, its 3-channel stem adapted to grayscale), train on digits and score; bad files are clear errors.

timm imports torchvision. The CPU torch of scripts/setup.sh has no torchvision that loads beside it (PyPI's is
built for CUDA torch), so where torchvision is not installed the timm import here puts an empty stand-in in its
place: timm only needs torchvision's names to import (its data pipeline and FrozenBatchNorm2d), not to build or
run these models, and the stand-in is gone again once timm is loaded. The tests skip without timm, and where an
installed torchvision does not load.
"""
import importlib
import importlib.util
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch

from angular_dino.errors import UserError
from angular_dino.method.model.network import AngularDINONet
from angular_dino.method.model.timm_backbone import TimmBackbone
from angular_dino.runs.registry import load_detector
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train

TORCHVISION_MODULES = ("torchvision", "torchvision.ops", "torchvision.ops.misc", "torchvision.transforms",
                       "torchvision.transforms.functional", "torchvision.transforms.v2", "torchvision.datasets",
                       "torchvision.models", "torchvision.models.feature_extraction")


@pytest.fixture(scope="module")
def timm():
    if importlib.util.find_spec("timm") is None:
        pytest.skip("timm is not installed (pip install 'angular-dino[timm]')")
    if importlib.util.find_spec("torchvision") is not None:
        try:
            return importlib.import_module("timm")
        except (ImportError, RuntimeError) as exc:
            pytest.skip(f"timm does not import here ({exc}): its torchvision does not match this torch")
    sys.modules.update({name: mock.MagicMock(name=name) for name in TORCHVISION_MODULES})
    try:
        return importlib.import_module("timm")
    finally:
        for name in TORCHVISION_MODULES:  # only these: what timm's import loaded stays loaded
            del sys.modules[name]


@pytest.fixture(scope="module")
def imagenet_style_weights(timm, tmp_path_factory):
    """resnet10t's state dict as an ImageNet checkpoint holds it: 3 input channels and a 10-class classifier."""
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=10, in_chans=3)
    path = tmp_path_factory.mktemp("weights") / "resnet10t.pth"
    torch.save(model.state_dict(), path)
    return path, model.state_dict()


def test_weights_load_with_the_classifier_dropped_and_the_stem_adapted(imagenet_style_weights):
    path, saved = imagenet_style_weights
    net = AngularDINONet("timm:resnet10t", 1, 32, 64, 64, 20, str(path))
    loaded = net.backbone.model.state_dict()
    assert "fc.weight" not in loaded and net.backbone.fc.out_features == 32
    assert torch.equal(loaded["layer1.0.conv1.weight"], saved["layer1.0.conv1.weight"])
    stem = saved["conv1.0.weight"]
    assert loaded["conv1.0.weight"].shape[1] == 1
    torch.testing.assert_close(loaded["conv1.0.weight"], stem.sum(dim=1, keepdim=True))  # timm's grayscale rule
    random_start = AngularDINONet("timm:resnet10t", 1, 32, 64, 64, 20)
    assert not torch.equal(random_start.backbone.model.state_dict()["layer1.0.conv1.weight"],
                           saved["layer1.0.conv1.weight"])


@pytest.mark.slow
def test_a_timm_backbone_with_local_weights_trains_and_scores(imagenet_style_weights, digits_settings, tmp_path):
    path, _ = imagenet_style_weights
    config = resolve_config({**digits_settings, "arch": "timm:resnet10t", "pretrained_weights": str(path),
                             "epochs": 1, "batch_size": 32})[0]
    result = train(config, quiet=True)
    assert 0 <= result["auroc"]["all"] <= 1
    detector = load_detector(tmp_path / "run" / "model.pt")  # needs no weights file: model.pt holds the teacher
    images = torch.randint(0, 256, (5, 1, 16, 16), dtype=torch.uint8)
    scores = detector.decision_function(images)
    assert scores.shape == (5,) and torch.isfinite(torch.from_numpy(scores)).all()
    assert detector.input_shape_ == (1, 16, 16)


def test_weights_of_another_model_are_a_clear_error(timm, imagenet_style_weights, tmp_path):
    partial = dict(imagenet_style_weights[1])
    del partial["layer1.0.bn1.weight"]
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(UserError, match=r"partial.pth does not fit timm:resnet10t \(missing layer1.0.bn1.weight\); "
                                        "it must hold the weights of that same model"):
        TimmBackbone("resnet10t", 3, 8, str(tmp_path / "partial.pth"))
    path = tmp_path / "resnet14t.pth"
    torch.save(timm.create_model("resnet14t", pretrained=False, num_classes=0).state_dict(), path)
    with pytest.raises(UserError, match=r"pretrained_weights: .*resnet14t.pth does not fit timm:resnet10t \("
                                        r"size mismatch for layer1.0.conv1.weight: copying a param with shape torch.Size\(\[64, 64, 1, 1\]\)"):
        TimmBackbone("resnet10t", 1, 8, str(path))
    (tmp_path / "notes.pth").write_text("not weights")
    with pytest.raises(UserError, match="notes.pth is not a readable weights file"):
        TimmBackbone("resnet10t", 1, 8, str(tmp_path / "notes.pth"))
    torch.save({"lr": 0.1}, tmp_path / "settings.pth")
    with pytest.raises(UserError, match=r"holds no state dict \(names to tensors\); save one with "
                                        r"torch.save\(model.state_dict\(\), PATH\)"):
        TimmBackbone("resnet10t", 1, 8, str(tmp_path / "settings.pth"))


def test_unknown_models_and_missing_files_are_config_errors(timm, tmp_path):
    with pytest.raises(UserError) as caught:
        resolve_config({"dataset": "digits", "arch": "timm:resnet10", "pretrained_weights": str(tmp_path / "w.pt")})
    assert "arch: timm has no model 'resnet10' (timm.list_models() lists them). Close names: " in str(caught.value)
    assert "resnet10t" in str(caught.value)
    assert f"pretrained_weights: {tmp_path / 'w.pt'} is not a file" in str(caught.value)


def test_weights_without_timm_and_timm_not_installed_are_config_errors(monkeypatch):
    with pytest.raises(UserError, match=r"pretrained_weights: only a timm backbone \(arch: timm:<name>\) starts "
                                        "from a weights file; 'resnet_tiny' trains from scratch"):
        resolve_config({"dataset": "digits", "arch": "resnet_tiny", "pretrained_weights": "w.pt"})
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "timm" else find_spec(name))
    with pytest.raises(UserError, match=r"arch: timm:resnet10t needs timm, which is not installed; "
                                        r"pip install 'angular-dino\[timm\]'"):
        resolve_config({"dataset": "digits", "arch": "timm:resnet10t"})
