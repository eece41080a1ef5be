"""The original AngularDINO config.yml (tests/fixtures/original-config.yml, a verbatim copy) runs as written."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from angular_dino.config.original import FIXED_KEYS, IGNORED_KEYS, TIED_KEYS
from angular_dino.errors import UserError
from angular_dino.runs.resolve import resolve_config

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = ROOT / "tests" / "fixtures" / "original-config.yml"


def original() -> dict:
    return yaml.safe_load(ORIGINAL.read_text())


def test_every_original_key_means_what_it_meant():
    config, notices = resolve_config(original())
    assert (config.dataset, config.normal_class, config.unseen_anomaly_class) == ("fashion_mnist", 5, 0)
    assert config.margin_type == "both" and config.margin == 0.5 and config.precision == "bf16"
    assert (config.image_size, config.head_hidden_dim, config.emb_dim, config.out_dim) == (32, 128, 64, 256)
    assert (config.batch_size, config.student_temp, config.epochs) == (128, 0.1, 200)
    assert config.warmup_fraction == 0.15 and config.lambda_converge_fraction == 0.5
    assert config.output_dir == "outputs/test/mnist/margin_tea-stu_0.5/"


def test_each_ignored_key_gets_one_line_notice_and_nothing_else_is_ignored():
    _, notices = resolve_config(original())
    ignored = sorted(key for key in original() if key in IGNORED_KEYS)
    assert sorted(n.split("`")[1] for n in notices) == ignored
    assert all("\n" not in n and n.startswith("note: config key `") and " is ignored: it " in n for n in notices)
    assert {"patch_size", "norm_last_layer", "description", "drop_path_rate", "gpu_num"} <= set(ignored)


def test_the_repository_config_yml_is_the_original_file_under_a_comment():
    lines = (ROOT / "config.yml").read_text().splitlines(keepends=True)
    body = "".join(line for line in lines if not (line.startswith("#") and lines.index(line) < 10))
    assert body == ORIGINAL.read_text()


@pytest.mark.parametrize("spelling, meaning", [("tea-stu", "both"), ("stu-tea", "both"), ("TEA_STU", "both"),
                                               ("tea", "teacher"), ("stu", "student"), ("both", "both")])
def test_margin_type_spellings(spelling, meaning):
    assert resolve_config({"dataset": "digits", "margin_type": spelling})[0].margin_type == meaning


@pytest.mark.parametrize("spelling", ["PUFashionMNIST", "PUMNIST", "PUCIFAR10", "PUSVHN", "FashionMNIST"])
def test_original_dataset_names_map(spelling):
    assert resolve_config({"dataset": spelling, "download": False})[0].dataset != spelling


def test_class_lists():
    config, _ = resolve_config({"dataset": "digits", "normal_class": [3], "unseen_anomaly_class": [None]})
    assert (config.normal_class, config.unseen_anomaly_class) == (3, None)
    with pytest.raises(UserError, match=r"normal_class: one class per run, got \[3, 4\]; .*bench"):
        resolve_config({"dataset": "digits", "normal_class": [3, 4]})
    with pytest.raises(UserError, match=r"unseen_anomaly_class: one class per run, got \[\]"):
        resolve_config({"dataset": "digits"}, {"unseen_anomaly_class": []})


def test_keys_fixed_to_one_value_refuse_another():
    for key, (only, _, _) in FIXED_KEYS.items():
        resolve_config({"dataset": "digits", key: only})
    with pytest.raises(UserError, match=r"nlayers: only 2 is implemented .*got 3; remove the key or set it to 2"):
        resolve_config({"dataset": "digits", "nlayers": 3})
    with pytest.raises(UserError, match="optimizer: only 'adamw' is implemented"):
        resolve_config({"dataset": "digits", "optimizer": "lars"})
    with pytest.raises(UserError, match="transform: only None is implemented"):
        resolve_config({"dataset": "digits", "transform": "week"})


def test_tied_keys_must_agree_with_the_final_native_value():
    assert set(TIED_KEYS) == {"bottleneck_dim", "emb_warmup_teacher_temp", "final_emb_student_temp"}
    config, _ = resolve_config({"dataset": "digits", "bottleneck_dim": 32, "emb_dim": 32})
    assert config.emb_dim == 32
    with pytest.raises(UserError, match=r"bottleneck_dim: must equal emb_dim \(32\) because the DINO head's "
                                        r"bottleneck is the embedding"):
        resolve_config({"dataset": "digits", "bottleneck_dim": 64}, {"emb_dim": 32})
    with pytest.raises(UserError, match=r"final_emb_student_temp: must equal prototype_student_temp \(0.1\)"):
        resolve_config({"dataset": "digits", "final_emb_student_temp": 0.05})
    with pytest.raises(UserError, match="emb_warmup_teacher_temp: expected a number"):
        resolve_config({"dataset": "digits", "emb_warmup_teacher_temp": "warm"})


@pytest.mark.slow
def test_the_original_file_runs_verbatim_through_the_original_command(tmp_path):
    (tmp_path / "config.yml").write_bytes(ORIGINAL.read_bytes())
    # precision=auto: the file's bf16 stays bf16 on a CPU with AMX or AVX-512 BF16; elsewhere bf16 is emulated and one
    # step of this ResNet-18 took over 5 minutes (fp32: seconds), so the test would outlast its timeout there
    done = subprocess.run([sys.executable, str(ROOT / "angular_dino_train.py"), "--config", "config.yml",
                           "--set", "epochs=1", "--set", "dataset=digits", "--set", "precision=auto"],
                          capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": "", "OMP_NUM_THREADS": "1"}, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "training with batch_size 117" in done.stderr
    run = tmp_path / "outputs" / "test" / "mnist" / "margin_tea-stu_0.5"
    result = json.loads((run / "result.json").read_text())
    assert 0 <= result["auroc"]["all"] <= 1
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["normal_class"], saved["unseen_anomaly_class"], saved["margin_type"]) == (5, 0, "both")
    assert saved["image_size"] == 32 and saved["dataset"] == "digits" and "patch_size" not in saved
