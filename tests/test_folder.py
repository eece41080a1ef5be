"""The folder data source: layout, formats, colour, sizes, clear errors, and equivalence with a built-in source."""
import numpy as np
import pytest
import torch

from angular_dino.cli import main
from angular_dino.data import defaults
from angular_dino.data.defaults import STROKES_DARK_SHARE, dark_share
from angular_dino.data.folder import read_unlabeled_sample
from angular_dino.data.export import write_image, write_split_as_folder
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config
from angular_dino.runs.training_run import train
from image_files import write_images

RNG = np.random.default_rng(0)


def gray(n, size=12):
    return torch.from_numpy(RNG.integers(0, 256, (n, 1, size, size), dtype=np.uint8))


def make_folder(root, n_unlabeled=20, n_positive=6, test=True):
    write_images(root / "unlabeled", gray(n_unlabeled))
    write_images(root / "positive", gray(n_positive))
    if test:
        write_images(root / "test" / "normal", gray(4))
        write_images(root / "test" / "anomaly", gray(3))
    return root


def folder_config(root, **settings):
    return resolve_config({"dataset": "folder", "data_dir": str(root), "output_dir": str(root / "run"), **settings})[0]


def test_layout_is_read_with_validation_held_out_and_test_kinds(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "test" / "unseen.txt").write_text("00002.png\n")
    config = folder_config(root, val_fraction=0.2)
    data = prepare_pu_data(config)
    assert len(data.train_images) + len(data.val_images) == 26
    assert int(data.val_is_positive.sum()) == round(0.2 * 6) and int((~data.val_is_positive).sum()) == 4
    assert data.test_kind.tolist() == [NORMAL] * 4 + [SEEN, SEEN, UNSEEN]
    assert data.train_images.shape[1:] == (1, 12, 12) and data.train_images.dtype == torch.uint8
    assert data.class_names == ()
    again = prepare_pu_data(config)
    assert torch.equal(again.val_images, data.val_images)  # seeded
    other = prepare_pu_data(folder_config(root, val_fraction=0.2, seed=1))
    assert not torch.equal(other.val_images, data.val_images)


def test_defaults_follow_the_images_grayscale(tmp_path):
    config = folder_config(make_folder(tmp_path / "data"))
    assert config.image_size == 12 and config.augmentation == "clothing"


def strokes(n, size=28):
    """Light strokes on a black ground, as scanned handwriting: two bright bars of width 2 per image."""
    images = np.zeros((n, 1, size, size), dtype=np.uint8)
    for image, (row, col) in zip(images, RNG.integers(2, size - 4, (n, 2))):
        image[0, row:row + 2, 4:size - 4] = 255
        image[0, 4:size - 4, col:col + 2] = 200
    return torch.from_numpy(images)


def test_a_grayscale_folder_of_strokes_on_a_dark_ground_gets_the_digits_recipe(tmp_path):
    root = tmp_path / "strokes"
    write_images(root / "unlabeled", strokes(30))
    write_images(root / "positive", gray(4, size=28))  # only the unlabeled images' pixels count
    config = folder_config(root)
    assert (config.image_size, config.augmentation) == (28, "digits")
    assert folder_config(root, augmentation="clothing").augmentation == "clothing"  # a named recipe stays


def test_the_stroke_rule_reads_the_pixels_of_at_most_its_sample_of_unlabeled_images(tmp_path, monkeypatch):
    root = tmp_path / "mostly_strokes"
    write_images(root / "unlabeled", torch.cat([strokes(6), torch.full((1, 1, 28, 28), 128, dtype=torch.uint8)]))
    write_images(root / "positive", strokes(2))
    assert dark_share(read_unlabeled_sample(root, 28, limit=100, skip_unreadable=False)) < STROKES_DARK_SHARE
    sample = read_unlabeled_sample(root, 28, limit=3, skip_unreadable=False)  # files 0, 3 and 6: the gray one too
    assert len(sample) == 3 and torch.equal(sample[2], torch.full((1, 28, 28), 128, dtype=torch.uint8))
    monkeypatch.setattr(defaults, "RECIPE_SAMPLE", 2)  # files 0 and 6
    assert folder_config(root).augmentation == "clothing"
    monkeypatch.setattr(defaults, "read_unlabeled_sample", lambda *args: pytest.fail("a colour folder's pixels read"))
    write_image(root / "positive" / "zz_colour.png", RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    assert folder_config(root).augmentation == "natural"


def test_one_colour_image_makes_the_folder_colour_and_sizes_are_unified(tmp_path):
    root = make_folder(tmp_path / "data", test=False)
    colour = RNG.integers(0, 256, (3, 30, 20), dtype=np.uint8)
    write_image(root / "positive" / "zz_colour.jpg", colour)
    write_image(root / "positive" / "zz_big.bmp", RNG.integers(0, 256, (40, 40), dtype=np.uint8))
    write_image(root / "positive" / "zz_scan.tiff", RNG.integers(0, 256, (12, 12), dtype=np.uint8))
    config = folder_config(root)
    assert config.augmentation == "natural"
    data = prepare_pu_data(config)
    assert data.train_images.shape[1:] == (3, 12, 12) and len(data.train_images) + len(data.val_images) == 29
    assert data.test_images.shape == (0, 3, 12, 12)
    pixels = torch.cat([data.train_images, data.val_images])
    grayscale = pixels[:, 0].eq(pixels[:, 1]).all(dim=(1, 2)) & pixels[:, 1].eq(pixels[:, 2]).all(dim=(1, 2))
    assert (~grayscale).sum() == 1  # gray images repeated to 3 channels; the JPEG stays colour


def test_configured_image_size_resizes_every_image(tmp_path):
    data = prepare_pu_data(folder_config(make_folder(tmp_path / "data"), image_size=20))
    assert data.train_images.shape[-2:] == (20, 20) and data.test_images.shape[-2:] == (20, 20)


def test_hidden_files_are_ignored(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "unlabeled" / ".DS_Store").write_bytes(b"\0\1")
    data = prepare_pu_data(folder_config(root))
    assert len(data.train_images) + len(data.val_images) == 26


@pytest.mark.parametrize("name, content", [("notes.txt", b"not an image"), ("broken.png", b"\x89PNG\r\n\x1a\n12")])
def test_unreadable_file_is_one_error_naming_it_or_skipped_with_a_warning(tmp_path, capsys, name, content):
    root = make_folder(tmp_path / "data")
    (root / "unlabeled" / name).write_bytes(content)
    with pytest.raises(UserError, match=rf"{name} is not a readable image.*skip_unreadable: true"):
        prepare_pu_data(folder_config(root))
    data = prepare_pu_data(folder_config(root, skip_unreadable=True))
    assert len(data.train_images) + len(data.val_images) == 26
    assert f"warning: skipped {root / 'unlabeled' / name}" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    (lambda root: __import__("shutil").rmtree(root / "positive"), "positive folder .* does not exist"),
    (lambda root: [p.unlink() for p in (root / "unlabeled").iterdir()], "unlabeled folder .* holds no image files"),
    (lambda root: __import__("shutil").rmtree(root / "test" / "anomaly"), "lacks anomaly/"),
    (lambda root: [p.unlink() for p in (root / "test" / "normal").iterdir()], "test normal folder .* holds no image"),
    (lambda root: (root / "test" / "unseen.txt").write_text("missing.png\n"), "names files that are not in"),
])
def test_layout_errors_are_clear(tmp_path, change, message):
    root = make_folder(tmp_path / "data")
    change(root)
    with pytest.raises(UserError, match=message):
        prepare_pu_data(resolve_config({"dataset": "folder", "data_dir": str(root), "image_size": 12})[0])


def test_config_errors_for_a_missing_data_dir(tmp_path):
    with pytest.raises(UserError, match="data_dir: dataset folder needs data_dir"):
        resolve_config({"dataset": "folder"})
    with pytest.raises(UserError, match="does not exist or is not a folder"):
        resolve_config({"dataset": "folder", "data_dir": str(tmp_path / "nowhere")})


def test_cli_reports_a_bad_folder_with_exit_status_2(tmp_path, capsys):
    root = make_folder(tmp_path / "data")
    (root / "positive" / "readme.md").write_text("# hi")
    config = tmp_path / "c.yml"
    config.write_text(f"dataset: folder\ndata_dir: {root}\noutput_dir: {tmp_path / 'run'}\n")
    assert main(["train", "--config", str(config), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "readme.md is not a readable image" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_folder_of_a_builtin_split_equals_the_builtin_source(tmp_path, digits_settings):
    """Same images, order, validation part and normalisation, hence the same training and AUROC, exactly."""
    builtin = resolve_config({**digits_settings, "epochs": 3})[0]
    root = write_split_as_folder(builtin, tmp_path / "digits_folder")
    folder = resolve_config({**digits_settings, "epochs": 3, "dataset": "folder", "data_dir": str(root),
                           "augmentation": "digits", "output_dir": str(tmp_path / "folder_run")})[0]
    assert folder.image_size == builtin.image_size and folder.local_crop_size == builtin.local_crop_size
    a, b = prepare_pu_data(builtin), prepare_pu_data(folder)
    for field in ("train_images", "train_is_positive", "val_images", "val_is_positive"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.normalisation() == b.normalisation()
    assert sorted(a.test_kind.tolist()) == sorted(b.test_kind.tolist())
    result_builtin, result_folder = train(builtin, quiet=True), train(folder, quiet=True)
    assert result_folder["auroc"] == result_builtin["auroc"] and result_folder["auprc"] == result_builtin["auprc"]
    assert result_folder["threshold"] == result_builtin["threshold"]
