"""timm backbones (`arch: timm:<name>`), optionally started from a local weights file (`pretrained_weights`).

Nothing is ever fetched: the model is always created with `pretrained=False` and the weights, when given, come
from the file (a state dict saved with `torch.save(model.state_dict(), PATH)`, or a `.safetensors` file). A
classifier in the file is dropped (the backbone ends in its pooled features), and a first convolution for another
number of channels is adapted as timm adapts its own (summed to one channel for grayscale, repeated for more). timm
is an optional extra and imports torchvision, which must be the build for the installed torch.
"""
from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from typing import Any

import torch
from torch import nn

from angular_dino.errors import UserError

PREFIX = "timm:"


def timm_errors(name: str, pretrained_weights: str | None) -> list[str]:
    """Config errors of `arch: timm:<name>`: timm missing or not importable, an unknown model, a missing file."""
    if importlib.util.find_spec("timm") is None:
        return [f"arch: {PREFIX}{name} needs timm, which is not installed; pip install 'angular-dino[timm]' "
                "(see the README's pretrained backbones)"]
    try:
        timm = _import_timm()
    except UserError as exc:
        return [str(exc)]
    errors = []
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f" Close names: {', '.join(close)}." if close else ""
        errors.append(f"arch: timm has no model {name!r} (timm.list_models() lists them).{hint}")
    if pretrained_weights is not None and not Path(pretrained_weights).is_file():
        errors.append(f"pretrained_weights: {pretrained_weights} is not a file; give the path of a saved state dict "
                      "(see the README's pretrained backbones)")
    return errors


def _import_timm() -> Any:
    try:
        import timm
    except (ImportError, RuntimeError, OSError) as exc:  # torchvision absent, or built for another torch
        raise UserError(f"timm could not be imported ({str(exc).strip().splitlines()[0][:160]}); timm needs "
                        "torchvision, and torchvision must be the build made for the installed torch "
                        "(install both from the same PyTorch release)") from None
    return timm


class TimmBackbone(nn.Module):
    """A timm model without its classifier (pooled features), then a linear map to `emb_dim`."""

    def __init__(self, name: str, in_channels: int, emb_dim: int, pretrained_weights: str | None) -> None:
        super().__init__()
        self.model = _create(_import_timm(), name, in_channels)
        if pretrained_weights is not None:
            load_weights(self.model, Path(pretrained_weights), name, in_channels)
        self.fc = nn.Linear(self.model.num_features, emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.model(x))


def _create(timm: Any, name: str, in_channels: int) -> nn.Module:
    """The model with pooled features as output; vision transformers take every crop size (the views differ)."""
    try:
        return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_channels, dynamic_img_size=True)
    except TypeError:  # a model without a fixed input size (a CNN) takes no dynamic_img_size
        return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_channels)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, never running code from it."""
    if not path.is_file():
        raise UserError(f"pretrained_weights: {path} is not a file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file  # a dependency of timm

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # each reader fails in its own way on a file that is not its format
        raise UserError(f"pretrained_weights: {path} is not a readable weights file "
                        f"({str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__})"
                        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):  # a training checkpoint's
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"pretrained_weights: {path} holds no state dict (names to tensors); save one with "
                        "torch.save(model.state_dict(), PATH)")
    return state


def load_weights(model: nn.Module, path: Path, name: str, in_channels: int) -> None:
    """Load the file into `model`: its classifier dropped, its first convolution adapted to `in_channels`."""
    from timm.models import adapt_input_conv

    state = read_state_dict(path)
    config = getattr(model, "pretrained_cfg", {}) or {}
    classifiers = config.get("classifier") or ()
    for prefix in (classifiers,) if isinstance(classifiers, str) else classifiers:
        state = {k: v for k, v in state.items() if not k.startswith(f"{prefix}.")}
    first_convs = config.get("first_conv") or ()
    for prefix in (first_convs,) if isinstance(first_convs, str) else first_convs:
        weight = state.get(f"{prefix}.weight")
        if weight is not None and weight.dim() == 4 and weight.shape[1] != in_channels:
            state[f"{prefix}.weight"] = adapt_input_conv(in_channels, weight)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes that differ
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise UserError(f"pretrained_weights: {path} does not fit timm:{name} ({lines[1][:200]}, ...); "
                        "it must hold the weights of that same model") from None
    if missing or unexpected:
        shown = "; ".join(part for part in (f"missing {', '.join(missing[:3])}" if missing else "",
                                            f"unexpected {', '.join(unexpected[:3])}" if unexpected else "") if part)
        raise UserError(f"pretrained_weights: {path} does not fit timm:{name} ({shown}); it must hold the weights "
                        "of that same model")
