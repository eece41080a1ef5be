"""Small dataset files in the exact official formats, written by the tests, and a local HTTP server."""
from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import scipy.io


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    magic = {1: 2049, 3: 2051}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def write_idx_fixture(directory: Path, n_train: int = 30, n_test: int = 20, compress: bool = True) -> dict:
    """The four MNIST-format files (train/t10k images and labels), labels cycling through 0..9."""
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte": np.arange(n_test) % 10}
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(directory / (name + (".gz" if compress else "")), array, compress)
    return arrays


class Python2Pickler(pickle._Pickler):
    """Protocol 2 with all text and bytes written as Python 2 strings (BINSTRING), as cPickle wrote the batches."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_string(self, obj: bytes | str) -> None:
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_python2_string
    dispatch[str] = save_python2_string


def python2_pickle(obj: object) -> bytes:
    out = io.BytesIO()
    Python2Pickler(out, protocol=2).dump(obj)
    return out.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # NumPy 1's name


def cifar_batch(images: np.ndarray, labels: np.ndarray, title: bytes) -> bytes:
    """One batch as the official files hold it: N×3072 uint8 rows (red, green, blue planes)."""
    return python2_pickle({b"batch_label": title, b"labels": [int(y) for y in labels],
                           b"data": images.reshape(len(images), 3072).astype(np.uint8),
                           b"filenames": [b"image_%d.png" % i for i in range(len(images))]})


def cifar_fixture_arrays(n_per_batch: int = 10, n_test: int = 20) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    sizes = [n_per_batch] * 5 + [n_test]
    return {name: (rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8), rng.integers(0, 10, n))
            for name, n in zip(names, sizes)}


def write_cifar_archive(path: Path, batches: dict[str, bytes]) -> None:
    """cifar-10-python.tar.gz: the batches (and batches.meta) under cifar-10-batches-py/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = python2_pickle({b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                                            b"frog", b"horse", b"ship", b"truck"], b"num_cases_per_batch": 10000,
                           b"num_vis": 3072})
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in {**batches, "batches.meta": meta}.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))


def write_cifar_fixture(directory: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    arrays = cifar_fixture_arrays()
    write_cifar_archive(directory / "cifar-10-python.tar.gz",
                        {name: cifar_batch(x, y, name.encode()) for name, (x, y) in arrays.items()})
    return arrays


def write_svhn_mat(path: Path, images: np.ndarray, digits: np.ndarray) -> None:
    """X: 32×32×3×N uint8 (height, width, colour, image), y: N×1 with 10 for the digit 0."""
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(-1, 1)
    scipy.io.savemat(path, {"X": np.ascontiguousarray(images.transpose(2, 3, 1, 0)), "y": labels})


def write_svhn_fixture(directory: Path, n_train: int = 40, n_test: int = 20) -> dict:
    rng = np.random.default_rng(2)
    arrays = {}
    for name, n in (("train_32x32.mat", n_train), ("test_32x32.mat", n_test)):
        images = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)  # N×C×H×W, as the reader returns them
        digits = np.arange(n) % 10
        write_svhn_mat(directory / name, images, digits)
        arrays[name] = (images, digits)
    return arrays


@dataclass
class FileServer:
    """A local HTTP server for fixture files; it records each request's Range header."""

    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    cut_next: int = 0  # the next this many responses stop half-way (a dropped connection)
    ranges: list[str | None] = field(default_factory=list)
    url: str = ""

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        body = self.files.get(handler.path.lstrip("/"))
        if body is None:
            handler.send_error(404)
            return
        asked = handler.headers.get("Range")
        self.ranges.append(asked)
        start = int(asked.removeprefix("bytes=").rstrip("-")) if asked and self.honour_range else 0
        if start >= len(body) > 0:
            handler.send_error(416)
            return
        handler.send_response(206 if start else 200)
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        handler.send_header("Content-Length", str(len(body) - start))
        handler.end_headers()
        payload = body[start:]
        if self.cut_next:
            self.cut_next -= 1
            payload = payload[: len(payload) // 2]
        handler.wfile.write(payload)


def start_server(server_state: FileServer) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.respond(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server
