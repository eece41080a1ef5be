"""Config validation, original keys, and the README key table."""
from pathlib import Path

import pytest

from angular_dino.config import FIELDS, METHODS, RESUME_NEUTRAL_KEYS, build_config, keys_unused_by, parse_overrides
from angular_dino.errors import UserError
from angular_dino.runs.resolve import load_config, resolve_config

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_resolve_the_dataset_sizes():
    config, notices = resolve_config({})
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
        resolve_config(raw)


def test_all_problems_are_reported_together():
    with pytest.raises(UserError) as error:
        resolve_config({"epochs": -1, "lr": "fast"})
    assert "epochs" in str(error.value) and "lr" in str(error.value)


def test_original_keys_are_accepted_and_epoch_values_become_fractions():
    config, notices = resolve_config({"dataset": "PUFashionMNIST", "epochs": 200, "warmup_epochs": 30,
                                    "lambda_converge": 100, "freeze_last_layer": 1, "student_tmp": 0.2,
                                    "batch_size_per_gpu": 64, "gpu_num": 4, "dist_url": "env://"})
    assert config.dataset == "fashion_mnist"
    assert config.warmup_fraction == 0.15 and config.lambda_converge_fraction == 0.5
    assert config.freeze_last_layer_fraction == 0.005 and config.student_temp == 0.2 and config.batch_size == 64
    assert any("gpu_num" in n for n in notices) and any("dist_url" in n for n in notices)


def test_overrides_win_over_the_file_and_read_yaml_values():
    overrides = parse_overrides(["lr=5e-4", "local_crops_scale=[0.1, 0.3]", "unseen_anomaly_class=null"])
    config, _ = resolve_config({"lr": 0.1, "dataset": "digits"}, overrides)
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
        resolve_config({"warmup_epochs": 10, "warmup_fraction": 0.1})
    with pytest.raises(UserError, match="give either `student_tmp` or `student_temp`"):
        resolve_config({"student_tmp": 0.1, "student_temp": 0.2})


def test_an_override_replaces_the_file_value_in_either_spelling():
    config, _ = resolve_config({"epochs": 100, "warmup_epochs": 10}, {"warmup_fraction": 0.3})
    assert config.warmup_fraction == 0.3
    config, _ = resolve_config({"epochs": 100, "warmup_fraction": 0.3}, {"warmup_epochs": 20})
    assert config.warmup_fraction == 0.2


def test_key_lists_come_from_the_fields_metadata():
    assert set(RESUME_NEUTRAL_KEYS) == {"num_threads", "diagnostic_test_metrics", "output_dir", "checkpoint_every_iters",
                                        "checkpoint_every_seconds", "logger"}
    assert all(f.metadata["methods"] and set(f.metadata["methods"]) <= set(METHODS) for f in FIELDS.values())
    unused_by_dino = keys_unused_by("angular_dino")
    assert "baseline_epochs" in unused_by_dino and "iforest_trees" in unused_by_dino and "seed" not in unused_by_dino
    assert {"margin", "arch", "epochs", "precision"} <= set(keys_unused_by("puae"))
    assert "alpha" not in keys_unused_by("puae") and "alpha" in keys_unused_by("ae")
    assert "baseline_epochs" in keys_unused_by("iforest") and "baseline_image_size" not in keys_unused_by("iforest")
    assert not set(keys_unused_by("pusvdd")) & {"dataset", "normal_class", "val_fraction", "threshold_rule"}


def test_the_config_alone_reports_what_it_can_tell_and_resolution_adds_the_data_and_backbone_checks():
    checked = build_config({"arch": "resnet19", "normal_class": 12, "pt_num": 60})
    assert checked.errors == ["pt_num: 60 normal + 60 anomaly prototypes need prototype_num >= 120, got 100"]
    with pytest.raises(UserError) as error:
        resolve_config({"arch": "resnet19", "normal_class": 12, "pt_num": 60})
    assert [line.split(":")[0] for line in str(error.value).splitlines()[1:]] == \
        ["  pt_num", "  normal_class", "  arch"]
