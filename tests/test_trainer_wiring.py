"""The trainer's wiring, branch by branch, on one tiny batch: which cosines get which margin, what the centres
see, which parameters the first-epoch freeze holds and how the teacher follows the student. Each test fails
when its branch is swapped; none of them trains."""
import pytest
import torch

from angular_dino.data.prepare import prepare_pu_data
from angular_dino.method import trainer as trainer_module
from angular_dino.method.losses import TeacherCentre
from angular_dino.method.prototypes import IdentifiedPrototypes
from angular_dino.method.trainer import Trainer
from angular_dino.method.views import views_for
from angular_dino.runs.resolve import resolve_config
from conftest import DIGITS

ADDED, SUBTRACTED = 100.0, -100.0  # what the stand-in margins add, so that their traces can be followed


@pytest.fixture(scope="module")
def digits():
    config = resolve_config({**DIGITS, "epochs": 2, "batch_size": 8, "num_threads": 1})[0]
    return config, prepare_pu_data(config)


def tiny_trainer(digits, **settings) -> Trainer:
    config, data = digits
    config = resolve_config({**config.to_dict(), **settings})[0]
    return Trainer(config, data.train_images, data.train_is_positive, views_for(config, *data.normalisation()),
                   torch.device("cpu"))


def traced_losses(trainer: Trainer, monkeypatch) -> dict:
    """One `_losses` call at a step with margins on, with stand-ins that leave traces: the margins shift their
    target entries by ±100, the sharpening returns what it was given, the cross-entropy records its inputs."""
    seen: dict = {"ce": []}

    def additive(cos, target, margin):
        seen["additive_in"] = cos.clone()
        return torch.where(target, cos + ADDED, cos)

    def subtractive(cos, target, margin):
        seen["subtractive_in"] = cos.clone()
        return torch.where(target, cos + SUBTRACTED, cos)

    def cross_entropy(student, teacher, weights=None):
        seen["ce"].append((student.clone(), teacher.clone()))
        return student.sum() * 0

    monkeypatch.setattr(trainer_module, "additive_angular_margin", additive)
    monkeypatch.setattr(trainer_module, "subtractive_angular_margin", subtractive)
    monkeypatch.setattr(trainer_module, "dino_cross_entropy", cross_entropy)
    monkeypatch.setattr(TeacherCentre, "sharpen", lambda self, scores, temperature: scores.float())
    k = trainer.config.prototype_num
    trainer.identified = IdentifiedPrototypes(normal=(0, 1), anomaly=(k - 2, k - 1))
    step = trainer.iters_per_epoch  # the second epoch: margins on
    assert trainer.schedules.margin[step] > 0
    batch = torch.arange(trainer.config.batch_size)
    _, _, teacher_logits, raw_teacher_cos = trainer._losses(batch, step)
    (_, _), (student_cos, teacher_target) = seen["ce"]  # L_DINO's inputs, then L_ANG's
    seen.update(student=student_cos * trainer.config.prototype_student_temp, teacher=teacher_target,
                raw_teacher=raw_teacher_cos, target=trainer_module.margin_targets(
                    trainer.is_positive[batch], trainer.identified, k))
    return seen


@pytest.mark.parametrize("margin_type, student_shifted, teacher_shifted",
                         [("student", True, False), ("teacher", False, True), ("both", True, True)])
def test_each_margin_type_shifts_only_its_own_side(digits, monkeypatch, margin_type, student_shifted,
                                                   teacher_shifted):
    trainer = tiny_trainer(digits, margin_type=margin_type, margin_start_fraction=0.0)
    seen = traced_losses(trainer, monkeypatch)
    target = seen["target"]
    assert target.any() and not target.all()
    shifted_student = (seen["student"][:, target] > ADDED / 2).all()  # cosines lie in [-1, 1]
    shifted_teacher = (seen["teacher"][:, target] < SUBTRACTED / 2).all()
    assert bool(shifted_student) == student_shifted and bool(shifted_teacher) == teacher_shifted
    assert (seen["student"][:, ~target].abs() <= 1 + 1e-4).all() and (seen["teacher"][:, ~target].abs() <= 1).all()


def test_the_teacher_margin_acts_on_raw_cosines_and_the_centre_learns_from_raw_ones(digits, monkeypatch):
    """METHOD §7: the margins apply before centring. The subtractive margin receives the teacher's raw cosines,
    the sharpening (which subtracts the centre) receives the margin's output, and `_losses` hands the raw
    cosines back for the centre update, not the shifted targets."""
    trainer = tiny_trainer(digits, margin_type="both", margin_start_fraction=0.0)
    trainer.prototype_centre.value.fill_(0.25)  # a centre that would show if it were subtracted first
    seen = traced_losses(trainer, monkeypatch)
    assert torch.equal(seen["subtractive_in"], seen["raw_teacher"])
    target = seen["target"]
    torch.testing.assert_close(seen["teacher"], torch.where(target, seen["raw_teacher"] + SUBTRACTED,
                                                            seen["raw_teacher"]))
    assert (seen["raw_teacher"].abs() <= 1 + 1e-4).all()


def test_the_prototype_centre_is_updated_with_the_raw_teacher_cosines(digits, monkeypatch):
    trainer = tiny_trainer(digits, margin_start_fraction=0.0)
    trainer.identified = IdentifiedPrototypes(normal=(0, 1), anomaly=(2, 3))
    returned, updates = {}, []
    real_losses = Trainer._losses

    def losses(self, batch, step):
        out = real_losses(self, batch, step)
        returned["teacher_cos"] = out[3]
        return out

    monkeypatch.setattr(Trainer, "_losses", losses)
    monkeypatch.setattr(trainer.prototype_centre, "update", lambda scores: updates.append(scores.clone()))
    trainer._step(torch.arange(trainer.config.batch_size), trainer.iters_per_epoch)
    assert len(updates) == 1 and torch.equal(updates[0], returned["teacher_cos"])


def parameters_after_one_step(trainer: Trainer, step: int) -> tuple[dict, dict]:
    before = {name: p.detach().clone() for name, p in trainer.student.named_parameters()}
    trainer._step(torch.arange(trainer.config.batch_size), step)
    after = {name: p.detach().clone() for name, p in trainer.student.named_parameters()}
    return before, after


FROZEN_EARLY = ("head.last_layer.weight", "prototypes.weight")


def test_the_head_last_layer_and_the_prototypes_are_frozen_for_the_first_iterations_only(digits):
    trainer = tiny_trainer(digits, freeze_last_layer_fraction=0.5, warmup_fraction=0.0)
    assert trainer.schedules.freeze_iters > 1
    before, after = parameters_after_one_step(trainer, 0)
    for name in before:
        assert torch.equal(before[name], after[name]) == (name in FROZEN_EARLY), name
    before, after = parameters_after_one_step(trainer, trainer.schedules.freeze_iters)
    assert all(not torch.equal(before[name], after[name]) for name in FROZEN_EARLY)


def test_the_teacher_is_an_exponential_moving_average_of_the_student(digits):
    trainer = tiny_trainer(digits)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for student, teacher in zip(trainer.student.parameters(), trainer.teacher.parameters()):
            student.copy_(torch.rand(student.shape, generator=generator))
            teacher.copy_(torch.rand(teacher.shape, generator=generator))
    students = [p.detach().clone() for p in trainer.student.parameters()]
    teachers = [p.detach().clone() for p in trainer.teacher.parameters()]
    trainer._update_teacher(0.9)
    for student, teacher, updated in zip(students, teachers, trainer.teacher.parameters()):
        torch.testing.assert_close(updated, 0.9 * teacher + 0.1 * student)


def test_each_step_moves_the_teacher_with_that_step_s_scheduled_momentum(digits, monkeypatch):
    trainer = tiny_trainer(digits)
    momenta = []
    monkeypatch.setattr(trainer, "_update_teacher", momenta.append)
    step = trainer.iters_per_epoch + 1
    trainer._step(torch.arange(trainer.config.batch_size), step)
    assert momenta == [float(trainer.schedules.momentum[step])] and momenta[0] < 1


def test_a_step_is_labelled_by_phase_for_the_profiler(digits):
    """benchmarks/throughput.py --phases splits a step by these labels; each must be there once per step, in order."""
    trainer = tiny_trainer(digits)
    phases = ["views", "teacher_forward", "student_forward", "losses", "backward", "optimizer", "teacher_ema"]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        trainer._step(torch.arange(trainer.config.batch_size), trainer.iters_per_epoch + 1)
    labelled = sorted((event for event in profiler.events() if event.name in phases),
                      key=lambda event: event.time_range.start)
    assert [event.name for event in labelled] == phases
