"""`angular-dino init`: a checked starting config for a folder, never replacing a file; the downscale notice."""
import numpy as np
import torch
import yaml

from angular_dino.cli import main
from angular_dino.runs.resolve import load_config
from image_files import write_images


def photo_folder(root, side=96):
    rng = np.random.default_rng(0)
    for part, count in (("unlabeled", 12), ("positive", 4)):
        write_images(root / part, torch.from_numpy(rng.integers(0, 256, (count, 3, side, side), dtype=np.uint8)))
    return root


def test_init_writes_a_config_that_trains_as_the_defaults_would(tmp_path, capsys):
    folder, out = photo_folder(tmp_path / "data"), tmp_path / "config.yml"
    assert main(["init", "--data-dir", str(folder), "--out", str(out)]) == 0
    text = out.read_text()
    assert "downscaled to 64" in text and "natural here" in text
    values = yaml.safe_load(text)
    assert values["dataset"] == "folder" and values["steps"] == 700
    config, notices = load_config(out)
    assert (config.image_size, config.augmentation) == (64, "natural")
    assert any("96 are downscaled to 64" in notice for notice in notices)


def test_init_names_the_recipe_that_a_grayscale_folder_of_strokes_gets(tmp_path, capsys):
    strokes = torch.zeros(12, 1, 28, 28, dtype=torch.uint8)
    strokes[:, :, 10:14, 4:24] = 255  # a bright bar on a black ground: 86 % of the pixels dark
    for part in ("unlabeled", "positive"):
        write_images(tmp_path / "data" / part, strokes)
    assert main(["init", "--data-dir", str(tmp_path / "data"), "--out", "-"]) == 0
    assert "`digits` for strokes on a dark ground (>= 78 % of pixels dark), else `clothing`: digits here" in \
        capsys.readouterr().out


def test_init_never_replaces_a_file_and_prints_with_out_dash(tmp_path, capsys):
    folder, out = photo_folder(tmp_path / "data", side=20), tmp_path / "config.yml"
    out.write_text("mine\n")
    assert main(["init", "--data-dir", str(folder), "--out", str(out)]) == 2
    assert out.read_text() == "mine\n" and "exists" in capsys.readouterr().err
    assert main(["init", "--data-dir", str(folder), "--out", "-"]) == 0
    printed = capsys.readouterr().out
    assert yaml.safe_load(printed)["data_dir"] == str(folder) and "downscaled" not in printed


def test_init_of_a_bad_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["init", "--data-dir", str(tmp_path / "missing"), "--out", "-"]) == 2
    assert "error:" in capsys.readouterr().err
