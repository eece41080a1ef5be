"""Training speed of our baseline engine against a re-creation of the published code's data path.

    .venv/bin/python benchmarks/baseline_speed.py [--epochs 2] [--images N] [--no-record]

The published Deep PU code cannot run here (its licence forbids reuse, and there is no network), so
this compares, side by side in one process and on the same Fashion-MNIST PU split (normal 0,
unseen 9, seed 42):
- **ours**: `angular_dino.baselines.engine.train_best_epoch` as `--set method=puae / pusvdd` runs
  it: images preloaded as one channels-last tensor, batches by index; in float32 (the default) and
  with `baseline_precision: bf16`;
- **published-style**: the same networks, losses, optimiser and validation, fed the way the
  published code feeds them: a torch `Dataset` whose `__getitem__` turns one uint8 image into a PIL
  image, resizes it to 32×32 (bilinear), repeats it to 3 channels and converts it to a float tensor
  (what torchvision's Resize + Grayscale(3) + ToTensor do, written with PIL/numpy since torchvision
  is not a dependency), a shuffling `DataLoader` (batch 128, no worker processes), contiguous NCHW
  float32 networks, and a deep copy of the state at each better validation loss.
Each is timed for `--epochs` epochs and extrapolated to the published 100 epochs (PUAE) and
100 + 100 epochs (PUSVDD: autoencoder pre-training, then the encoder). The published code's own wall
times on this machine (issue 3: about 12 min PUAE, 21 min PUSVDD) are listed for reference; they
were measured by someone else at another time, so only the side-by-side columns are a controlled
comparison. Run it alone: other processes on the machine distort every figure.
"""
from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch
from PIL import Image

from angular_dino.baselines import losses
from angular_dino.baselines.engine import EVAL_BATCH, LabeledImages, Optimisation, train_best_epoch
from angular_dino.baselines.inputs import model_input
from angular_dino.baselines.networks import CODE_DIM, CentreDistance, ConvEncoder, ReconstructionError
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.runs.resolve import resolve_config
from record import header, write_section

PUBLISHED_MINUTES = {"puae": 12, "pusvdd": 21}
EPOCHS = {"puae": {"ae": 100}, "pusvdd": {"svdd_ae": 100, "svdd": 100}}  # published epochs per stage


class PublishedStyleImages(torch.utils.data.Dataset):
    """One image at a time, converted in Python as the torchvision transforms would."""

    def __init__(self, images: torch.Tensor, is_positive: torch.Tensor) -> None:
        self.images = images.numpy()
        self.is_positive = is_positive.numpy()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, bool]:
        picture = Image.fromarray(self.images[index, 0]).resize((32, 32), Image.BILINEAR).convert("RGB")
        array = np.asarray(picture, dtype=np.float32) / 255.0
        return torch.from_numpy(array.transpose(2, 0, 1).copy()), bool(self.is_positive[index])


def networks() -> dict[str, torch.nn.Module]:
    """The three networks whose epochs make up PUAE and PUSVDD training."""
    torch.manual_seed(0)
    return {"ae": ReconstructionError(32), "svdd_ae": ReconstructionError(32, svdd=True),
            "svdd": CentreDistance(ConvEncoder(32, svdd=True), torch.full((CODE_DIM,), 0.1))}


def loss_of(stage: str):
    return {"ae": losses.puae_loss, "svdd_ae": losses.reconstruction_loss, "svdd": losses.pusvdd_loss}[stage]


def published_style_seconds(model: torch.nn.Module, loss, train: PublishedStyleImages, val: PublishedStyleImages,
                            epochs: int) -> float:
    """Seconds per epoch of the published-style loop (training, validation, best-state copy)."""
    loader = torch.utils.data.DataLoader(train, batch_size=128, shuffle=True)
    val_loader = torch.utils.data.DataLoader(val, batch_size=128)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-3)
    best, started = float("inf"), time.time()
    for _ in range(epochs):
        model.train()
        for images, is_positive in loader:
            batch_loss = loss(model(images), is_positive)
            optimiser.zero_grad()
            batch_loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            outputs = [(model(images), is_positive) for images, is_positive in val_loader]
        val_loss = float(loss(torch.cat([o for o, _ in outputs]), torch.cat([p for _, p in outputs])))
        if val_loss < best:
            best, _ = val_loss, copy.deepcopy(model.state_dict())
    return (time.time() - started) / epochs


def our_seconds(model: torch.nn.Module, loss, train: LabeledImages, val: LabeledImages, epochs: int,
                bf16: bool) -> float:
    model = model.to(memory_format=torch.channels_last)
    history = train_best_epoch(model, loss, train, val, Optimisation(epochs, 1e-4, 1e-3, 128, bf16),
                               torch.Generator().manual_seed(0), "speed")
    return sum(record["seconds"] for record in history) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per network and path")
    parser.add_argument("--images", type=int, default=None, help="use only this many training images (smoke tests)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    config = resolve_config({"dataset": "fashion_mnist", "normal_class": 0, "unseen_anomaly_class": 9, "seed": 42})[0]
    data = prepare_pu_data(config)
    train_images, train_is_positive = data.train_images[:args.images], data.train_is_positive[:args.images]
    if not train_is_positive.any():
        train_is_positive = train_is_positive.clone()
        train_is_positive[-1] = True
    ours_train = LabeledImages(model_input(train_images, 32), train_is_positive)
    ours_val = LabeledImages(model_input(data.val_images, 32), data.val_is_positive)
    published_train = PublishedStyleImages(train_images, train_is_positive)
    published_val = PublishedStyleImages(data.val_images, data.val_is_positive)

    per_epoch: dict[str, dict[str, float]] = {"published-style": {}, "ours fp32": {}, "ours bf16": {}}
    for stage in ("ae", "svdd_ae", "svdd"):
        per_epoch["published-style"][stage] = published_style_seconds(networks()[stage], loss_of(stage),
                                                                      published_train, published_val, args.epochs)
        per_epoch["ours fp32"][stage] = our_seconds(networks()[stage], loss_of(stage), ours_train, ours_val,
                                                    args.epochs, bf16=False)
        per_epoch["ours bf16"][stage] = our_seconds(networks()[stage], loss_of(stage), ours_train, ours_val,
                                                    args.epochs, bf16=True)
        print(f"{stage}: " + ", ".join(f"{path} {seconds[stage]:.2f} s/epoch" for path, seconds in per_epoch.items()),
              flush=True)

    def minutes(path: str, method: str) -> float:
        return sum(per_epoch[path][stage] * count for stage, count in EPOCHS[method].items()) / 60

    lines = header("Baseline training speed: our engine vs a re-creation of the published data path") + [
        f"Fashion-MNIST normal 0 / unseen 9, seed 42, {len(train_images)} training images at 32×32; "
        f"{args.epochs} epochs timed per network, extrapolated to the published epochs (PUAE 100; "
        "PUSVDD 100 autoencoder + 100 encoder). \"Published-style\" is our re-creation of the published "
        "code's data path (per-image PIL conversion in a Dataset, DataLoader, NCHW float32), not the "
        "published code. The published code's own times were measured on this machine for issue 3, "
        "at another time.", "",
        "| method | published-style (min) | ours fp32 (min) | speed-up | ours bf16 (min) | speed-up | "
        "published code, issue 3 (min) |",
        "|---|---|---|---|---|---|---|"]
    for method in ("puae", "pusvdd"):
        reference = minutes("published-style", method)
        fp32, bf16 = minutes("ours fp32", method), minutes("ours bf16", method)
        lines.append(f"| {method} | {reference:.1f} | {fp32:.1f} | {reference / fp32:.2f}× | {bf16:.1f} | "
                     f"{reference / bf16:.2f}× | {PUBLISHED_MINUTES[method]} |")
    print("\n".join(lines[-4:]))
    if not args.no_record:
        write_section("baseline_speed", lines)


if __name__ == "__main__":
    main()
