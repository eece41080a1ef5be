"""Config validation, original keys, and the README key table."""
from pathlib import Path

import pytest

from angular_dino.config import FIELDS, build_config, load_config, parse_overrides
from angular_dino.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_resolve_the_dataset_sizes():
    config, notices = build_config({})
    assert config.n_unlabeled_normal == 4500 and config.n_positive == 250 and config.image_size == 28
    assert config.augmentation == "clothing" and config.output_dir == "runs/fashion_mnist_c0_u9_s0"
    assert notices == []


@pytest.mark.parametrize("raw, message", [
    ({"marign": 0.3}, "unknown config key `marign`. Did you mean `margin`?"),
    ({"epochs": "ten"}, "epochs: expected a whole number, got 'ten'"),
    ({"margin": -0.1}, "margin: must be at least 0.0, got -0.1"),
    ({"normal_class": 12}, "normal_class: fashion_mnist has classes 0..9, got 12"),
    ({"margin_type": "sideways"}, "margin_type: must be one of student, teacher, both"),
    ({"use_weight": "yes"}, "use_weight: expected true or false"),
    ({"normal_class": 4, "unseen_anomaly_class": 4}, "must differ from normal_class"),
    ({"arch": "resnet19"}, "Did you mean `resnet18`?"),
    ({"global_crops_scale": [0.9, 0.3]}, "need 0 < low <= high <= 1"),
    ({"teacher_temp": 0}, "teacher_temp: must be greater than 0.0"),
    ({"pt_num": 60}, "need prototype_num >= 120"),
    ({"dataset": "imagenet"}, "dataset: unknown source 'imagenet'"),
    ({"output_dir": "runs/{nope}"}, "output_dir: cannot fill the template"),
])
def test_bad_values_name_the_key(raw, message):
    with pytest.raises(UserError, match=message.replace("?", r"\?").replace("(", r"\(").replace("[", r"\[")):
        build_config(raw)


def test_all_problems_are_reported_together():
    with pytest.raises(UserError) as error:
        build_config({"epochs": -1, "lr": "fast"})
    assert "epochs" in str(error.value) and "lr" in str(error.value)


def test_original_keys_are_accepted_and_epoch_values_become_fractions():
    config, notices = build_config({"dataset": "PUFashionMNIST", "epochs": 200, "warmup_epochs": 30,
                                    "lambda_converge": 100, "freeze_last_layer": 1, "student_tmp": 0.2,
                                    "batch_size_per_gpu": 64, "gpu_num": 4, "dist_url": "env://"})
    assert config.dataset == "fashion_mnist"
    assert config.warmup_fraction == 0.15 and config.lambda_converge_fraction == 0.5
    assert config.freeze_last_layer_fraction == 0.005 and config.student_temp == 0.2 and config.batch_size == 64
    assert any("gpu_num" in n for n in notices) and any("dist_url" in n for n in notices)


def test_overrides_win_over_the_file_and_read_yaml_values():
    overrides = parse_overrides(["lr=5e-4", "local_crops_scale=[0.1, 0.3]", "unseen_anomaly_class=null"])
    config, _ = build_config({"lr": 0.1, "dataset": "digits"}, overrides)
    assert config.lr == 5e-4 and config.local_crops_scale == (0.1, 0.3) and config.unseen_anomaly_class is None


def test_override_without_equals_sign_is_an_error():
    with pytest.raises(UserError, match="--set expects key=value"):
        parse_overrides(["epochs"])


def test_missing_and_malformed_config_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_config(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)
    listed = tmp_path / "list.yml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="must hold key: value pairs"):
        load_config(listed)


@pytest.mark.parametrize("name", ["configs/fashion_mnist.yml", "configs/reference.yml", "config.yml"])
def test_shipped_configs_are_valid(name):
    load_config(ROOT / name)


def test_readme_documents_every_key():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in FIELDS if f"`{name}`" not in readme]
    assert missing == []


def test_original_and_native_spelling_of_one_setting_conflict():
    with pytest.raises(UserError, match="give either `warmup_epochs` \\(epochs\\) or `warmup_fraction`"):
        build_config({"warmup_epochs": 10, "warmup_fraction": 0.1})
    with pytest.raises(UserError, match="give either `student_tmp` or `student_temp`"):
        build_config({"student_tmp": 0.1, "student_temp": 0.2})


def test_an_override_replaces_the_file_value_in_either_spelling():
    config, _ = build_config({"epochs": 100, "warmup_epochs": 10}, {"warmup_fraction": 0.3})
    assert config.warmup_fraction == 0.3
    config, _ = build_config({"epochs": 100, "warmup_fraction": 0.3}, {"warmup_epochs": 20})
    assert config.warmup_fraction == 0.2
