"""`angular-dino train`: one flow for every method, from the run directory to the run's files.

Reads top to bottom: check the run directory (a finished run is reported, a different one refused, a
stopped one resumed); prepare the PU data; build the detector of `config.method`; fit it on the training
part with the validation part beside it, under a `RunMonitor` (progress bar, metrics.jsonl,
checkpoints, stop signals); then, on rank 0, score the test split once and write model.pt, result.json,
the report and the summary.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from angular_dino.config import Config
from angular_dino.data.prepare import PUData, prepare_pu_data
from angular_dino.detection.base import BaseDetector, scores_of
from angular_dino.detection.metrics import detection_metrics, pu_auroc, threshold_metrics
from angular_dino.errors import NonFiniteScores, UserError
from angular_dino.runs.monitor import RunMonitor
from angular_dino.runs.registry import DETECTORS, build_detector
from angular_dino.runs.report_inputs import write_run_report
from angular_dino.runs.results import run_fields, summary_table
from angular_dino.runs.run_dir import RunDirectory, RunState
from angular_dino.runtime.compute import resolve_device
from angular_dino.runtime.distributed import Distributed, init_distributed, local_device
from angular_dino.runtime.interrupts import stop_signals


def train(config: Config, *, restart: bool = False, quiet: bool = False) -> dict[str, Any] | None:
    """Train and evaluate one run described by `config`; returns result.json's content.

    Under torchrun every process calls this; rank 0 evaluates, writes the files and returns the
    result, the other ranks return None once training is done.
    """
    started = time.time()
    device = resolve_device(config.device)
    processes = init_distributed(device)
    if processes.enabled and not DETECTORS[config.method].data_parallel:  # every rank would write the same run
        raise UserError(f"method: {config.method} trains in one process (the baselines are not data-parallel); "
                        "run it without torchrun")
    device = local_device(device, processes)
    run = RunDirectory(config.output_dir)
    state = processes.from_main(run.state_for(config, restart) if processes.is_main else None)
    if state is RunState.FINISHED:
        return _report_finished(run) if processes.is_main else None

    detector = build_detector(config)  # the method's own settings are checked before any file is written
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    with processes.main_first():
        data = prepare_pu_data(config)
    try:
        return _fit_and_write(config, run, state, processes, device, detector, data, started, quiet)
    except NonFiniteScores as exc:  # config.yaml, metrics.jsonl and the checkpoint stay for a look
        raise NonFiniteScores(f"{exc}. The run's files so far are kept in {run.path}.") from None


def _fit_and_write(config: Config, run: RunDirectory, state: RunState, processes: Distributed, device: torch.device,
                   detector: BaseDetector, data: PUData, started: float, quiet: bool) -> dict[str, Any] | None:
    with stop_signals() as stop:
        monitor = RunMonitor(config, run, state, processes, device, stop, quiet, (data.test_images, data.test_kind))
        try:
            detector.fit(data.train_images, data.train_is_positive, validation=(data.val_images, data.val_is_positive),
                         monitor=monitor)
        finally:
            monitor.close()
    if not processes.is_main:
        return None
    return _write_outputs(config, run, detector, data, started, device, quiet)


def _report_finished(run: RunDirectory) -> dict[str, Any]:
    result = run.read_result()
    print(f"{run.path} already holds this finished run (pass --restart to train it again):\n{summary_table(result)}")
    return result


def _write_outputs(config: Config, run: RunDirectory, detector: BaseDetector, data: PUData, started: float,
                   device: torch.device, quiet: bool) -> dict[str, Any]:
    """Score the test split once; write model.pt, result.json and the report; print the summary."""
    test_scores = scores_of(detector, data.test_images)
    metrics = detection_metrics(torch.from_numpy(test_scores), data.test_kind)
    detector.save(run.model_path)
    val_scores = torch.from_numpy(scores_of(detector, data.val_images))
    at_threshold = threshold_metrics(test_scores, data.test_kind.numpy(), detector.threshold_, data.test_labels.numpy(),
                                     data.class_names)
    result = {**metrics, "method": config.method, "threshold": detector.threshold_,
              "threshold_rule": config.threshold_rule, "at_threshold": at_threshold,
              "val_pu_auroc": pu_auroc(val_scores, data.val_is_positive),
              **detector.result_fields(), **run_fields(config, data, started, device)}
    run.write_result(result)
    write_run_report(run.path, detector, config, result, detector.history_, data, test_scores)
    if not quiet:
        print(summary_table(result))
    return result
