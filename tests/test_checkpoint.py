"""Run files are written atomically and read without ever running code from them."""
import pickle

import pytest
import torch

from angular_dino.errors import UserError
from angular_dino.storage import load_torch, save_torch


class Exploit:
    def __reduce__(self):
        import os
        return os.system, ("touch pwned",)


def test_round_trip(tmp_path):
    save_torch({"format": "x/1", "w": torch.arange(3)}, tmp_path / "a.pt")
    assert torch.equal(load_torch(tmp_path / "a.pt", "x/1")["w"], torch.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary file left


def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"format": "x/1", "payload": Exploit()}, path)
    with pytest.raises(UserError, match="not a readable AngularDINO file"):
        load_torch(path, "x/1")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    save_torch({"format": "x/1", "w": torch.zeros(1000)}, tmp_path / "a.pt")
    data = (tmp_path / "a.pt").read_bytes()
    (tmp_path / "a.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable AngularDINO file"):
        load_torch(tmp_path / "a.pt", "x/1")
    save_torch({"format": "other/1"}, tmp_path / "b.pt")
    with pytest.raises(UserError, match="not an AngularDINO x/1 file"):
        load_torch(tmp_path / "b.pt", "x/1")
    (tmp_path / "c.pt").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(UserError):
        load_torch(tmp_path / "c.pt", "x/1")


def test_failed_write_keeps_the_previous_file(tmp_path):
    save_torch({"format": "x/1", "v": 1}, tmp_path / "a.pt")

    class Unsaveable:
        def __reduce__(self):
            raise OSError("No space left on device")

    with pytest.raises(UserError, match="could not write .*No space left on device.*is unchanged"):
        save_torch({"format": "x/1", "v": Unsaveable()}, tmp_path / "a.pt")
    assert load_torch(tmp_path / "a.pt", "x/1")["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]
