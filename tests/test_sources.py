"""Dataset readers with small fixture files in the exact IDX format, and the download path."""
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from angular_dino.data.images import channel_stats, resize_images
from angular_dino.data.sources import FASHION_MNIST, read_digits, read_idx
from angular_dino.errors import UserError
from fixture_files import write_idx, write_idx_fixture


@pytest.mark.parametrize("compress", [True, False])
def test_reads_idx_files_from_the_configured_root(tmp_path, compress):
    arrays = write_idx_fixture(tmp_path, compress=compress)
    data = FASHION_MNIST.read(str(tmp_path), download=False)
    assert data.train_images.shape == (30, 1, 28, 28) and data.train_images.dtype == torch.uint8
    assert torch.equal(data.train_images[:, 0], torch.from_numpy(arrays["train-images-idx3-ubyte"].astype(np.uint8)))
    assert data.test_labels.tolist() == list(np.arange(20) % 10)


def test_truncated_idx_file_is_a_clear_error(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((4, 28, 28)), compress=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_idx(path)


def test_file_that_is_not_idx_is_a_clear_error(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(b"hello world")
    with pytest.raises(UserError, match="is not an IDX file"):
        read_idx(path)


def test_missing_dataset_names_the_three_ways(tmp_path):
    with pytest.raises(UserError) as error:
        FASHION_MNIST.read(str(tmp_path / "empty"), download=False)
    message = str(error.value)
    assert "data_root" in message and "apt-get install dataset-fashion-mnist" in message and "download" in message


def served_dataset(tmp_path: Path) -> tuple:
    """A fake 'official source' (file:// URLs) holding fixture files, and a spec whose MD5s match them."""
    server = tmp_path / "server"
    write_idx_fixture(server)
    files = {name: hashlib.md5((server / name).read_bytes()).hexdigest() for name in FASHION_MNIST.files.files}
    source = replace(FASHION_MNIST.files, base_urls=(server.as_uri(),), files=files)
    return replace(FASHION_MNIST, files=source), server


def test_download_verifies_checksums_and_keeps_the_files(tmp_path):
    spec, _ = served_dataset(tmp_path)
    data = spec.read(str(tmp_path / "root"), download=True)
    assert data.train_images.shape[0] == 30
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == sorted(spec.files.files)


def test_corrupted_download_is_rejected_and_not_kept(tmp_path):
    spec, server = served_dataset(tmp_path)
    (server / "t10k-labels-idx1-ubyte.gz").write_bytes(b"corrupted")
    with pytest.raises(UserError, match="checksum mismatch"):
        spec.read(str(tmp_path / "root"), download=True)
    assert not (tmp_path / "root" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "root").glob("*.part"))


def test_digits_pools_are_disjoint_and_cover_every_class():
    data = read_digits()
    assert len(data.train_images) + len(data.test_images) == 1797
    assert data.train_images.shape[1:] == (1, 8, 8) and data.train_images.max() == 255
    assert set(data.train_labels.tolist()) == set(range(10)) == set(data.test_labels.tolist())


def test_resize_and_channel_stats():
    images = torch.full((3, 1, 8, 8), 255, dtype=torch.uint8)
    images[:, :, :4] = 0
    resized = resize_images(images, 16)
    assert resized.shape == (3, 1, 16, 16) and resized.dtype == torch.uint8
    mean, std = channel_stats(images)
    assert mean == pytest.approx((0.5,)) and std == pytest.approx((0.5,))
