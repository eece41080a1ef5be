import numpy as np

from angular_dino.method.schedules import build_schedules, cosine_ramp, cosine_schedule, margin_start_epoch
from angular_dino.runs.resolve import resolve_config


def test_cosine_schedule_warms_up_linearly_then_decays_to_the_end_value():
    values = cosine_schedule(1.0, 0.0, total=10, warmup=4)
    np.testing.assert_allclose(values[:4], [0.0, 0.25, 0.5, 0.75])
    assert values[4] == 1.0 and len(values) == 10
    assert np.all(np.diff(values[4:]) < 0) and values[-1] > 0
    np.testing.assert_allclose(values[4 + 3], 0.5)  # half way through the 6 decay steps


def test_lambda_ramp_reaches_its_end_at_the_converge_point_and_stays():
    values = cosine_ramp(2.0, total=10, reach=4)
    np.testing.assert_allclose(values[:5], [0.0, 2 * 0.5 * (1 - np.cos(np.pi / 4)), 1.0,
                                            2 * 0.5 * (1 - np.cos(3 * np.pi / 4)), 2.0])
    assert np.all(values[4:] == 2.0)


def test_schedules_keep_their_shape_for_short_runs():
    short, _ = resolve_config({"dataset": "digits", "epochs": 8})
    long_, _ = resolve_config({"dataset": "digits", "epochs": 200})
    for config in (short, long_):
        s = build_schedules(config, iters_per_epoch=10)
        total = config.epochs * 10
        assert np.argmax(s.lr) == round(0.1 * total)  # peak right after the warm-up
        assert s.lambda_[total // 2] == 1.0 and s.lambda_[total // 2 - 1] < 1.0
        assert s.momentum[0] == 0.996 and s.momentum[-1] > 0.999
        start = margin_start_epoch(config) * 10
        assert s.margin[start - 1] == 0 and s.margin[start] == 0.5


def test_peak_lr_scales_with_batch_size():
    config, _ = resolve_config({"dataset": "digits", "batch_size": 64, "lr": 0.001, "warmup_fraction": 0.0,
                                "epochs": 1})
    assert build_schedules(config, 5).lr[0] == 0.001 * 64 / 256


def test_margin_never_starts_before_prototypes_exist():
    config, _ = resolve_config({"dataset": "digits", "epochs": 3, "margin_start_fraction": 0.0})
    assert margin_start_epoch(config) == 1
