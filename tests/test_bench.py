"""`angular-dino bench`: cells on identical splits, resume, shards, failures, tables, the CLI wiring."""
import csv
import os
import pickle
import signal
from pathlib import Path

import pytest
import torch
import yaml
from conftest import DIGITS

from angular_dino.cli import main
from angular_dino.data.prepare import prepare_pu_data
from angular_dino.errors import UserError
from angular_dino.errors import TrainingDiverged
from angular_dino.method.trainer import Trainer
from angular_dino.runs.bench import load_bench, merge, run_bench
from angular_dino.runs.bench.cells import parse_shard, read_cells, shard_cells, write_cell
from angular_dino.runs.bench.runner import threads_per_job
from angular_dino.runs.bench.spec import SPLIT_KEYS
from angular_dino.runtime.interrupts import TrainingStopped

ROOT = Path(__file__).resolve().parents[1]


def fake_result(auroc: float, seconds: float = 1.0) -> dict:
    return {"auroc": {"all": auroc, "seen": auroc - 0.05, "unseen": auroc + 0.01},
            "auprc": {"all": auroc - 0.1, "seen": None, "unseen": None}, "train_seconds": seconds, "wall_seconds": 2.0}


def fake_runner(config, quiet):
    """Stands in for train(): a result that depends on the cell, and one line per call in the run directory."""
    run = Path(config.output_dir)
    run.mkdir(parents=True, exist_ok=True)
    with open(run / "calls.txt", "a") as calls:
        calls.write(f"{os.getpid()} {config.num_threads}\n")
    return fake_result(0.5 + config.normal_class / 100 + config.seed / 1000)


def failing_runner(config, quiet):
    """Class 3 has bad input, class 4 diverges, class 5 hits a bug; the others train."""
    if config.normal_class == 3:
        raise UserError("too few images for the PU split")
    if config.normal_class == 4:
        raise TrainingDiverged("the loss became nan at epoch 1, iteration 2")
    if config.normal_class == 5:
        raise RuntimeError("index out of range")
    return fake_runner(config, quiet)


def calls(plan) -> list[str]:
    return [line for path in sorted(plan.runs_dir.rglob("calls.txt")) for line in path.read_text().splitlines()]


def write_bench(tmp_path: Path, **keys) -> Path:
    """A digits bench in tmp_path: angular_dino from a base config file (1 epoch) and iforest from settings."""
    base = tmp_path / "digits.yml"
    base.write_text(yaml.safe_dump({**DIGITS, "epochs": 1, "num_threads": 1}))
    bench = {"name": "t", "results_dir": str(tmp_path / "results"), "runs_dir": str(tmp_path / "runs"),
             "datasets": ["digits"], "normal_classes": [0, 3], "seeds": [0, 1],
             "methods": {"angular_dino": {"config": str(base)}, "iforest": {"settings": {"epochs": 1}}},
             **keys}
    path = tmp_path / "bench.yml"
    path.write_text(yaml.safe_dump(bench, sort_keys=False))
    return path


def test_cells_are_datasets_by_classes_by_seeds_by_methods_with_the_usual_unseen_class(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    assert [c.key for c in plan.cells] == [f"{m}/digits_c{c}_u{u}_s{s}" for c, u in ((0, 9), (3, 0))
                                           for s in (0, 1) for m in ("angular_dino", "iforest")]
    config = plan.configs[plan.cells[0]]
    assert (config.method, config.epochs, config.arch, config.output_dir) == \
        ("angular_dino", 1, "resnet_tiny", str(tmp_path / "runs" / "angular_dino" / "digits_c0_u9_s0"))
    assert plan.cell_path(plan.cells[0]) == tmp_path / "results" / "cells" / "angular_dino" / "digits_c0_u9_s0.json"
    fixed = load_bench(write_bench(tmp_path, unseen_class=None, seeds=[2]))
    assert [c.key for c in fixed.cells][::2] == ["angular_dino/digits_c0_unone_s2", "angular_dino/digits_c3_unone_s2"]


def test_every_method_trains_and_is_tested_on_the_same_split(tmp_path):
    path = write_bench(tmp_path, settings={"n_positive": 15, "num_threads": 1},
                       methods={"angular_dino": {"config": str(tmp_path / "digits.yml")},
                                "pusvdd": {"settings": {"batch_size": 64, "epochs": 3}}, "iforest": None})
    plan = load_bench(path)
    by_split = {}
    for cell in plan.cells:
        config = plan.configs[cell]
        by_split.setdefault(cell.split_name, set()).add(tuple(getattr(config, k) for k in SPLIT_KEYS))
    assert len(by_split) == 4 and all(len(values) == 1 for values in by_split.values())
    assert {plan.configs[c].n_positive for c in plan.cells} == {15}
    first, second = [prepare_pu_data(plan.configs[c]) for c in plan.cells if c.split_name == "digits_c3_u0_s1"][:2]
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.test_images, second.test_images) and torch.equal(first.test_kind, second.test_kind)


@pytest.mark.parametrize("keys, message", [
    ({"normal_class": [0]}, "unknown bench key `normal_class`. Did you mean `normal_classes`?"),
    ({"methods": {}}, "methods: expected a mapping of method names"),
    ({"methods": {"svm": {}}}, "methods.svm: unknown method 'svm'"),
    ({"methods": {"iforest": {"setings": {}}}}, "methods.iforest: unknown key `setings`. Did you mean `settings`?"),
    ({"seeds": ["zero"]}, "seeds: expected a non-empty list of whole numbers"),
    ({"normal_classes": [1, 1]}, "normal_classes: lists a value twice"),
    ({"unseen_class": "sometimes"}, "unseen_class: expected `usual`"),
    ({"settings": {"normal_class": 2}}, "settings: `normal_class` is set by the bench key `normal_classes`"),
    ({"methods": {"iforest": {"settings": {"n_positive": 9}}}},
     "methods.iforest.settings: `n_positive` changes the PU split; set it in the bench's common `settings`"),
    ({"settings": {"marign": 0.3}}, "(and 7 more cells): unknown config key `marign`. Did you mean `margin`?"),
    ({"normal_classes": [3, 12]}, "angular_dino/digits_c12_u0_s0 (and 3 more cells): normal_class: digits has classes"),
    ({"methods": {"angular_dino": {"config": "nowhere.yml"}}}, "config file nowhere.yml does not exist"),
])
def test_bad_bench_configs_name_the_problem(tmp_path, keys, message):
    with pytest.raises(UserError, match="invalid bench configuration") as error:
        load_bench(write_bench(tmp_path, **keys))
    assert message in str(error.value)


def test_split_sizes_in_a_base_file_or_set_are_refused_or_shared(tmp_path):
    path = write_bench(tmp_path)
    (tmp_path / "digits.yml").write_text(yaml.safe_dump({**DIGITS, "n_unlabeled_normal": 50}))
    with pytest.raises(UserError, match=r"digits.yml\): `n_unlabeled_normal` changes the PU split"):
        load_bench(path)
    (tmp_path / "digits.yml").write_text(yaml.safe_dump(DIGITS))
    plan = load_bench(path, {"n_unlabeled_normal": 50, "epochs": 1})  # --set applies to every method alike
    assert {(plan.configs[c].n_unlabeled_normal, plan.configs[c].epochs) for c in plan.cells} == {(50, 1)}
    with pytest.raises(UserError, match="--set: `seed` is set by the bench key `seeds`"):
        load_bench(path, {"seed": 3})


def test_a_second_run_trains_nothing_new(tmp_path, capsys):
    plan = load_bench(write_bench(tmp_path))
    first = run_bench(plan, runner=fake_runner, quiet=True)
    assert len(first.outcomes) == 8 and not first.failed and len(calls(plan)) == 8
    files = {p: p.read_bytes() for p in plan.cells_dir.rglob("*.json")}
    second = run_bench(plan, runner=fake_runner, quiet=True)
    assert second.outcomes == [] and len(calls(plan)) == 8
    assert {p: p.read_bytes() for p in plan.cells_dir.rglob("*.json")} == files
    assert "8 done, 0 to run" in capsys.readouterr().err
    assert first.markdown == second.markdown


def test_failed_cells_are_recorded_the_others_run_and_a_rerun_retries_only_them(tmp_path, capsys):
    plan = load_bench(write_bench(tmp_path, normal_classes=[2, 3, 4, 5], seeds=[0],
                                  methods={"iforest": {}}))
    report = run_bench(plan, runner=failing_runner, quiet=True)
    assert [o.cell.normal_class for o in report.failed] == [3, 4, 5] and len(calls(plan)) == 1
    err = capsys.readouterr().err
    assert "FAILED iforest/digits_c3_u0_s0: too few images" in err and "FAILED iforest/digits_c4_u0_s0: the loss" in err
    records = read_cells(plan)
    assert "RuntimeError: index out of range" in records[plan.cells[3]]["error"]  # traceback kept for a bug
    assert "| iforest | 1/4, 3 failed | 0.5200 ± 0.0000 * |" in report.markdown
    assert "| iforest | 0.5200 | failed | failed | failed |" in report.markdown
    assert "- `iforest/digits_c5_u0_s0`: RuntimeError: index out of range\n" in report.markdown
    rerun = run_bench(plan, runner=fake_runner, quiet=True)
    assert sorted(o.cell.normal_class for o in rerun.outcomes) == [3, 4, 5] and not rerun.failed
    assert len(calls(plan)) == 4 and "| iforest | 4/4 |" in rerun.markdown


@pytest.mark.slow
def test_a_cell_that_train_refuses_fails_alone_with_exit_status_1(tmp_path, capsys):
    base = str(tmp_path / "digits.yml")
    path = write_bench(tmp_path, normal_classes=[0], seeds=[0], methods={
        "angular_dino": {"config": base}, "fp16": {"method": "angular_dino", "config": base,
                                                   "settings": {"precision": "fp16"}}})
    assert main(["bench", "--config", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "FAILED fp16/digits_c0_u9_s0: precision: fp16 needs a CUDA GPU" in err and "1 cells failed" in err
    assert "| angular_dino | 1/1 |" in (tmp_path / "results" / "table.md").read_text()


def test_cells_made_with_other_settings_are_refused(tmp_path):
    path = write_bench(tmp_path)
    run_bench(load_bench(path), runner=fake_runner, quiet=True)
    with pytest.raises(UserError, match=r"was made with other settings \(epochs: 1 there, 2 now\)"):
        run_bench(load_bench(path, {"epochs": 2}), runner=fake_runner, quiet=True)
    with pytest.raises(UserError, match="other settings"):
        merge(load_bench(path, {"epochs": 2}))
    assert run_bench(load_bench(path, {"num_threads": 2}), runner=fake_runner, quiet=True).outcomes == []


def test_a_setting_only_the_other_kind_of_method_reads_leaves_cells_valid(tmp_path):
    path = write_bench(tmp_path)
    run_bench(load_bench(path), runner=fake_runner, quiet=True)
    with pytest.raises(UserError, match=r"iforest/digits_c0_u9_s0.json \(and 3 more cells\) was made with other "
                                        r"settings \(iforest_trees: 100 there, 50 now\)"):
        merge(load_bench(path, {"iforest_trees": 50}))  # angular_dino's cells stay valid
    with pytest.raises(UserError, match=r"angular_dino/digits_c0_u9_s0.json \(and 3 more cells\).*\(lr: "):
        merge(load_bench(path, {"lr": 0.1}))  # iforest's cells stay valid


def test_methods_train_only_those_cells_and_the_table_still_shows_every_method(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    with pytest.raises(UserError, match=r"--methods: pusvd is not one of bench t's methods \(they are: angular_dino, "
                                        r"iforest\)"):
        run_bench(plan, methods=["pusvd"], runner=fake_runner, quiet=True)
    report = run_bench(plan, methods=["iforest"], runner=fake_runner, quiet=True)
    assert {o.cell.method for o in report.outcomes} == {"iforest"} and len(report.outcomes) == 4
    assert "| angular_dino | 0/4 | missing |" in report.markdown
    assert len(run_bench(plan, runner=fake_runner, quiet=True).outcomes) == 4  # then the rest


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_cover_every_cell_exactly_once_whatever_the_yaml_order(tmp_path, count):
    plan = load_bench(write_bench(tmp_path))
    shards = [shard_cells(plan.cells, i, count) for i in range(1, count + 1)]
    assert sorted(c.key for shard in shards for c in shard) == sorted(c.key for c in plan.cells)
    reordered = load_bench(write_bench(tmp_path, normal_classes=[3, 0], seeds=[1, 0],
                                       methods={"iforest": {"settings": {"epochs": 1}},
                                                "angular_dino": {"config": str(tmp_path / "digits.yml")}}))
    assert [set(shard_cells(reordered.cells, i, count)) for i in range(1, count + 1)] == [set(s) for s in shards]


def test_cells_run_split_by_split_in_the_yaml_order(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    report = run_bench(plan, runner=fake_runner, quiet=True)
    assert [o.cell for o in report.outcomes] == list(plan.cells)
    assert [o.cell.key for o in report.outcomes][:3] == ["angular_dino/digits_c0_u9_s0", "iforest/digits_c0_u9_s0",
                                                         "angular_dino/digits_c0_u9_s1"]


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1"])
def test_bad_shards_are_refused(text):
    with pytest.raises(UserError, match="--shard expects i/n with 1 <= i <= n"):
        parse_shard(text)


def test_two_shards_run_the_whole_sweep_once(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    ran = [o.cell for i in (1, 2) for o in run_bench(plan, shard=(i, 2), runner=fake_runner, quiet=True).outcomes]
    assert sorted(ran, key=lambda c: c.key) == sorted(plan.cells, key=lambda c: c.key) and len(calls(plan)) == 8


def write_results(plan, values: dict[str, list[float]]) -> None:
    """Cell files for each method's cells in order; None leaves that cell missing."""
    for method, aurocs in values.items():
        cells = [c for c in plan.cells if c.method == method]
        for cell, auroc in zip(cells, aurocs):
            if auroc is not None:
                write_cell(plan.cell_path(cell), cell, plan.configs[cell], result=fake_result(auroc, 10 * auroc))


def test_table_numbers_are_the_mean_and_population_std_of_the_cells(tmp_path, capsys):
    plan = load_bench(write_bench(tmp_path))
    write_results(plan, {"angular_dino": [0.9, 0.8, 0.7, 0.6], "iforest": [0.5, 0.5, 0.5, 0.5]})
    markdown = merge(plan)
    # 0.9, 0.8, 0.7, 0.6: mean 0.75, deviations ±0.15, ±0.05 -> std sqrt((2*0.0225 + 2*0.0025) / 4) = 0.1118
    assert ("| angular_dino | 4/4 | 0.7500 ± 0.1118 | 0.7000 ± 0.1118 | 0.7600 ± 0.1118 | 0.6500 ± 0.1118 "
            "| 7.5 ± 1.1 |") in markdown
    assert "| iforest | 4/4 | 0.5000 ± 0.0000 |" in markdown and "Paired" not in markdown  # complete: no paired table
    # per class: c0/u9 has seeds 0, 1 (0.9, 0.8) -> 0.85 ± 0.05; c3/u0 (0.7, 0.6) -> 0.65 ± 0.05
    assert "| method | c0/u9 | c3/u0 |" in markdown
    assert "| angular_dino | 0.8500 ± 0.0500 | 0.6500 ± 0.0500 |" in markdown
    assert markdown in capsys.readouterr().out
    rows = list(csv.DictReader((plan.results_dir / "table.csv").open()))
    assert rows[0]["method"] == "angular_dino" and rows[0]["complete"] == "True"
    assert float(rows[0]["auroc_all_mean"]) == pytest.approx(0.75)
    assert float(rows[0]["auroc_all_std"]) == pytest.approx(0.0125 ** 0.5)
    assert float(rows[0]["train_seconds_mean"]) == pytest.approx(7.5)
    assert (plan.results_dir / "table.md").read_text().endswith(markdown)


def test_merge_shows_a_missing_cell_as_missing_and_the_mean_as_partial(tmp_path):
    plan = load_bench(write_bench(tmp_path, seeds=[0]))
    write_results(plan, {"angular_dino": [0.9, None], "iforest": [0.6, 0.7]})
    markdown = merge(plan)
    assert "| angular_dino | 1/2 | 0.9000 ± 0.0000 * |" in markdown
    assert "| angular_dino | 0.9000 | missing |" in markdown and "| iforest | 0.6000 | 0.7000 |" in markdown
    # iforest's mean covers both splits, angular_dino's one: the paired table compares them on that one
    assert "| iforest | 2/2 | 0.6500 ± 0.0500 |" in markdown
    assert "Paired: on the 1 of 2 splits that every method with a done cell has done:" in markdown
    assert "| angular_dino | 0.9000 | 0.8500 | 0.9100 |\n| iforest | 0.6000 | 0.5500 | 0.6100 |" in markdown
    rows = {r["method"]: r for r in csv.DictReader((plan.results_dir / "table.csv").open())}
    assert rows["angular_dino"]["complete"] == "False" and rows["angular_dino"]["cells_done"] == "1"
    per_class = {r["method"]: r for r in csv.DictReader((plan.results_dir / "per_class.csv").open())}
    assert per_class["angular_dino"]["c3/u0"] == "missing" and float(per_class["iforest"]["c3/u0"]) == 0.7


def test_the_paired_table_leaves_out_methods_that_have_not_started(tmp_path):
    plan = load_bench(write_bench(tmp_path, seeds=[0], methods={"angular_dino": {"config": str(tmp_path / "digits.yml")},
                                                                "iforest": {}, "puae": {}}))
    write_results(plan, {"angular_dino": [0.9, None], "iforest": [0.6, 0.7]})  # puae: nothing yet
    markdown = merge(plan)
    assert "| puae | 0/2 | missing |" in markdown
    paired = markdown.split("Paired: on the 1 of 2 splits that every method with a done cell has done:")[1]
    assert "| angular_dino | 0.9000 |" in paired and "| iforest | 0.6000 |" in paired and "puae" not in paired


@pytest.mark.slow
def test_jobs_run_cells_in_separate_processes_with_the_threads_divided(tmp_path):
    plan = load_bench(write_bench(tmp_path, settings={}, seeds=[0],
                                  methods={"iforest": {}, "pusvdd": {}}))
    report = run_bench(plan, jobs=2, runner=fake_runner, quiet=True)
    assert len(report.outcomes) == 4 and not report.failed
    lines = calls(plan)
    assert len(lines) == 4 and str(os.getpid()) not in {line.split()[0] for line in lines}
    assert {int(line.split()[1]) for line in lines} == {threads_per_job(2)}
    assert threads_per_job(2) == max(1, len(os.sched_getaffinity(0)) // 2)
    assert "| pusvdd | 2/2 |" in report.markdown


def test_a_single_pending_cell_gets_every_core_whatever_jobs_says(tmp_path):
    plan = load_bench(write_bench(tmp_path, settings={}, normal_classes=[0], seeds=[0], methods={"iforest": {}}))
    run_bench(plan, jobs=4, runner=fake_runner, quiet=True)
    assert calls(plan) == [f"{os.getpid()} {threads_per_job(1)}"]  # in this process: nothing to share


@pytest.mark.slow
def test_cli_runs_a_real_tiny_cell_skips_it_when_run_again_and_merges(tmp_path, capsys):
    path = write_bench(tmp_path, normal_classes=[0], seeds=[0],
                       methods={"angular_dino": {"config": str(tmp_path / "digits.yml")}})
    assert main(["bench", "--config", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    record = read_cells(load_bench(path))
    (result,) = [r["result"] for r in record.values()]
    assert f"| angular_dino | 1/1 | {result['auroc']['all']:.4f} |" in out
    assert (tmp_path / "runs" / "angular_dino" / "digits_c0_u9_s0" / "result.json").is_file()
    assert main(["bench", "--config", str(path), "--quiet"]) == 0
    assert "1 done, 0 to run" in capsys.readouterr().err
    assert main(["bench", "merge", "--config", str(path)]) == 0
    assert f"{result['auroc']['all']:.4f}" in capsys.readouterr().out


def test_cli_bad_bench_input_exits_2_and_writes_nothing(tmp_path, capsys):
    path = write_bench(tmp_path, seeds="several")
    assert main(["bench", "--config", str(path)]) == 2
    assert "seeds: expected a non-empty list" in capsys.readouterr().err
    for training_option in (["--jobs", "2"], ["--methods", "iforest"]):  # merge trains nothing: argparse refuses
        with pytest.raises(SystemExit) as exit_:
            main(["bench", "merge", "--config", str(write_bench(tmp_path)), *training_option])
        assert exit_.value.code == 2
    assert main(["bench", "--config", str(write_bench(tmp_path)), "--methods", "nope"]) == 2
    assert "--methods: nope is not one of bench t's methods" in capsys.readouterr().err
    assert main(["bench", "--config", str(path), "--shard", "2/1"]) == 2
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_sweep_and_the_interrupted_cell_resumes_through_train(tmp_path, monkeypatch, capsys):
    path = write_bench(tmp_path, normal_classes=[0], seeds=[0],
                       methods={"angular_dino": {"config": str(tmp_path / "digits.yml")}, "iforest": {}})
    plan = load_bench(path, {"epochs": 2})
    real_epoch = Trainer.train_epoch

    def ctrl_c_in_second_epoch(self, on_step):
        if self.epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: train() checkpoints at the next iteration
        return real_epoch(self, on_step)

    monkeypatch.setattr(Trainer, "train_epoch", ctrl_c_in_second_epoch)
    with pytest.raises(TrainingStopped, match="stopped by SIGINT"):
        run_bench(plan, quiet=True)
    assert read_cells(plan) == {}  # not finished, and not recorded as failed
    assert not Path(plan.configs[plan.cells[1]].output_dir).exists()  # the sweep stopped: iforest never started
    monkeypatch.setattr(Trainer, "train_epoch", real_epoch)
    report = run_bench(plan, quiet=True)
    assert f"resuming {plan.configs[plan.cells[0]].output_dir} at epoch 2" in capsys.readouterr().err
    assert not report.failed and read_cells(plan)[plan.cells[0]]["result"]["epochs"] == 2


def test_a_stop_in_a_jobs_worker_reaches_the_parent_intact():
    stopped = pickle.loads(pickle.dumps(TrainingStopped(signal.SIGTERM, "stopped by SIGTERM at epoch 2")))
    assert stopped.signum == signal.SIGTERM and str(stopped) == "stopped by SIGTERM at epoch 2"


def test_the_committed_fashion_mnist_bench_is_the_documented_sweep(monkeypatch):
    monkeypatch.chdir(ROOT)  # its paths are relative to the repository root
    plan = load_bench("configs/bench_fashion_mnist.yml")
    assert plan.methods == ("angular_dino", "angular_dino_tiny", "angular_dino_long", "pusvdd", "puae", "iforest",
                            "deepsad", "deepsvdd", "ae")
    assert {(c.normal_class, c.unseen_anomaly_class, c.seed) for c in plan.cells} == \
        {(0, 9, s) for s in range(3)} | {(c, 0, s) for c in range(1, 10) for s in range(3)}
    assert len(plan.cells) == 270 and plan.results_dir == Path("benchmarks/results/fashion_mnist")
    profile, tiny, long = (plan.configs[plan.cells[i]] for i in (0, 1, 2))
    assert (profile.arch, profile.steps, profile.epochs, profile.dataset) == ("resnet_tiny_s2", 1400, None,
                                                                              "fashion_mnist")
    assert profile.to_dict() | {"arch": "resnet_tiny", "output_dir": tiny.output_dir} == tiny.to_dict()
    assert tiny.to_dict() | {"epochs": 80, "output_dir": long.output_dir} == long.to_dict()
    assert len({tuple(getattr(plan.configs[c], k) for k in SPLIT_KEYS) for c in plan.cells}) == 30


@pytest.mark.parametrize("bench", ["configs/bench_fashion_mnist.yml", "configs/dev_suite.yml",
                                   "configs/bench_fashion_small.yml"])
def test_the_committed_cells_match_their_bench(monkeypatch, bench):
    """A changed default must come with its committed cells renamed or rerun: otherwise the bench refuses them
    (the steps default moved 1,400 -> 700 and every dev-suite AngularDINO cell became stale)."""
    monkeypatch.chdir(ROOT)
    plan = load_bench(bench)
    assert len(read_cells(plan)) >= 10


def test_classes_train_only_those_cells_and_the_table_still_shows_every_cell(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    with pytest.raises(UserError, match=r"--classes: 7 is not one of bench t's classes \(they are: 0, 3\)"):
        run_bench(plan, classes=[7], runner=fake_runner, quiet=True)
    report = run_bench(plan, classes=[3], runner=fake_runner, quiet=True)
    assert {o.cell.normal_class for o in report.outcomes} == {3} and len(report.outcomes) == 4
    assert "| angular_dino | 2/4 |" in report.markdown


def test_seeds_train_only_those_cells(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    with pytest.raises(UserError, match=r"--seeds: 4 is not one of bench t's seeds \(they are: 0, 1\)"):
        run_bench(plan, seeds=[4], runner=fake_runner, quiet=True)
    report = run_bench(plan, seeds=[1], classes=[3], runner=fake_runner, quiet=True)
    assert {(o.cell.normal_class, o.cell.seed) for o in report.outcomes} == {(3, 1)} and len(report.outcomes) == 2


def test_groups_are_sweeps_with_their_own_settings_folders_and_tables(tmp_path):
    groups = {"full": {}, "small": {"normal_classes": [3], "seeds": [5], "settings": {"n_positive": 10}}}
    plan = load_bench(write_bench(tmp_path, settings={"n_unlabeled_anomaly": 20}, groups=groups))
    assert plan.groups == ("full", "small")
    small = [c for c in plan.cells if c.group == "small"]
    assert {(c.normal_class, c.seed) for c in small} == {(3, 5)} and len(plan.cells) == 8 + 2
    config = plan.configs[small[0]]
    assert (config.n_positive, config.n_unlabeled_anomaly) == (10, 20)  # the group's settings on the bench's
    assert plan.cell_path(small[0]) == plan.cells_dir / "angular_dino" / "small" / "digits_c3_u0_s5.json"
    report = run_bench(plan, groups=["small"], runner=fake_runner, quiet=True)
    assert {o.cell.group for o in report.outcomes} == {"small"}
    markdown = run_bench(plan, runner=fake_runner, quiet=True).markdown
    assert "## Group `full`" in markdown and "## Group `small`" in markdown
    assert (plan.results_dir / "small" / "table.csv").is_file() and (plan.results_dir / "full" / "per_class.csv").is_file()
    with pytest.raises(UserError, match="groups.small: unknown key `setings`"):
        load_bench(write_bench(tmp_path, groups={"small": {"setings": {}}}))


def test_each_method_is_compared_with_the_first_cell_by_cell(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    write_results(plan, {"angular_dino": [0.9, 0.8, 0.7, 0.6], "iforest": [0.5, 0.85, 0.5, 0.5]})
    markdown = merge(plan)
    # differences iforest − angular_dino: -0.4, +0.05, -0.2, -0.1: 1 win, 3 losses; sign test p = 2 * 5/16
    assert "| iforest | 4 | -0.1625 | 1/3/0 | 0.625 | 0.250 |" in markdown


def test_the_std_over_seeds_is_that_of_the_per_seed_means(tmp_path):
    plan = load_bench(write_bench(tmp_path))
    for cell, auroc in zip([c for c in plan.cells if c.method == "angular_dino"], [0.9, 0.8, 0.7, 0.6]):
        write_cell(plan.cell_path(cell), cell, plan.configs[cell], result={**fake_result(auroc), "seed": cell.seed})
    markdown = merge(plan)
    # cells in order (c0 s0, c0 s1, c3 s0, c3 s1): seed 0 mean 0.8, seed 1 mean 0.7 -> std 0.05
    assert "AUROC all, std over seeds" in markdown and "| 0.0500 |" in markdown
