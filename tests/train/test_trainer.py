"""Tests of robusthep.train.fit: reproducibility, resume, early stopping, bad input."""

import math
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from robusthep.errors import ConfigError, DataError, ModelFileError, TrainingError
from robusthep.train import fit

ROWS, BATCH = 36, 8  # 5 steps an epoch, the last of 4 rows
STEPS_PER_EPOCH = math.ceil(ROWS / BATCH)


class Killed(Exception):
    """Stands for a kill: raised by a callback at a chosen step."""


def make_data(rows=ROWS, seed=0, flip=False):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 3, generator=generator)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    w = torch.rand(rows, 1, generator=generator) + 0.5
    return x, (1 - y) if flip else y, w


def make_model(init_seed=1):
    torch.manual_seed(init_seed)
    # Dropout draws from the global RNG: resume must restore it.
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))


def weighted_bce(model, batch):
    x, y, w = batch
    return (F.binary_cross_entropy_with_logits(model(x), y, reduction="none") * w).mean()


def halve_every_second_epoch(optimizer):
    # Its lr depends on the epoch count it keeps: resume must restore the scheduler.
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)


SETTINGS = {
    "train": make_data(),
    "validation": make_data(rows=20, seed=1),
    "epochs": 4,
    "batch_size": BATCH,
    "lr": 0.05,
    "scheduler": halve_every_second_epoch,
    "patience": 3,
    "progress": False,
}


def weights(model):
    return {name: value.clone() for name, value in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def without_seconds(history):
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in history]


def assert_same_run(result, reference):
    assert without_seconds(result.history) == without_seconds(reference.history)
    assert (result.best_epoch, result.best_val_loss, result.steps, result.stopped_early) == (
        reference.best_epoch,
        reference.best_val_loss,
        reference.steps,
        reference.stopped_early,
    )


def kill_at(step):
    def callback(info):
        if info.step == step:
            raise Killed(step)

    return callback


@pytest.fixture(scope="module")
def reference():
    """The uninterrupted run every resumed run must reproduce."""
    model = make_model()
    result = fit(model, weighted_bce, **SETTINGS)
    return weights(model), result


# Reproducibility


def test_the_same_seed_gives_bit_identical_weights_and_another_seed_does_not(reference):
    reference_weights, reference_result = reference
    model = make_model()
    assert_same_run(fit(model, weighted_bce, **SETTINGS), reference_result)
    assert_same_weights(weights(model), reference_weights)

    other = make_model()
    fit(other, weighted_bce, **{**SETTINGS, "seed": 1})
    assert not torch.equal(other[0].weight, model[0].weight)


def test_each_epoch_visits_every_row_once_in_a_new_order_drawn_from_the_seed():
    def visits(seed):
        seen = []

        def loss_noting_rows(model, batch):
            if model.training:
                seen.append(batch[3])
            return weighted_bce(model, batch[:3])

        fit(
            make_model(),
            loss_noting_rows,
            **{
                **SETTINGS,
                "validation": None,
                "patience": None,
                "train": (*SETTINGS["train"], torch.arange(ROWS)),
            },
            seed=seed,
        )
        rows = torch.cat(seen)
        return [rows[epoch * ROWS : (epoch + 1) * ROWS] for epoch in range(4)]

    orders = visits(seed=0)
    for order in orders:
        assert sorted(order.tolist()) == list(range(ROWS))
    assert len({tuple(order.tolist()) for order in orders}) == 4
    assert all(torch.equal(a, b) for a, b in zip(orders, visits(seed=0), strict=True))
    assert not torch.equal(orders[0], visits(seed=1)[0])


def test_fit_leaves_the_callers_global_rng_as_it_was():
    model = make_model()
    before = torch.get_rng_state()
    fit(model, weighted_bce, **SETTINGS)
    assert torch.equal(torch.get_rng_state(), before)


def test_fit_restores_the_models_mode():
    model = make_model().eval()
    fit(model, weighted_bce, **{**SETTINGS, "epochs": 1})
    assert not model.training


# Resume


@pytest.mark.parametrize(
    "killed_at",
    [3, 7, STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH + 1],
    ids=["mid-first-epoch", "mid-second-epoch", "epoch-end", "after-epoch-end"],
)
def test_a_run_resumed_after_a_kill_matches_an_uninterrupted_one(tmp_path, reference, killed_at):
    reference_weights, reference_result = reference
    every = 2
    with pytest.raises(Killed):
        fit(
            make_model(),
            weighted_bce,
            **SETTINGS,
            checkpoint_dir=tmp_path,
            checkpoint_every=every,
            callback=kill_at(killed_at),
        )
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    # Checkpoints: every `every` steps inside an epoch, and after each epoch's validation,
    # which comes after the callback of the epoch's last step.
    epoch_end = [s % STEPS_PER_EPOCH == 0 for s in range(killed_at + 1)]
    saves = [
        s
        for s in range(1, killed_at + 1)
        if epoch_end[s] < (s % every == 0) or (epoch_end[s] and s < killed_at)
    ]
    last_saved = max(saves, default=0)
    assert saved["loop"]["step"] == last_saved

    # Other initial weights: everything that matters must come from the checkpoint.
    model = make_model(init_seed=99)
    steps = []
    result = fit(
        model,
        weighted_bce,
        **SETTINGS,
        checkpoint_dir=tmp_path,
        checkpoint_every=every,
        callback=steps.append,
    )
    assert [info.step for info in steps] == list(range(last_saved + 1, result.steps + 1))
    assert_same_run(result, reference_result)
    assert_same_weights(weights(model), reference_weights)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]  # no temporary file left


KILLED_RUN = textwrap.dedent(
    """
    import importlib.util, os, signal, sys

    spec = importlib.util.spec_from_file_location("trainer_tests", sys.argv[1])
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)

    def kill(info):
        if info.step == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

    tests.fit(tests.make_model(), tests.weighted_bce, **tests.SETTINGS,
              checkpoint_dir=sys.argv[2], checkpoint_every=3, callback=kill)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_process_killed_with_sigkill_resumes_to_the_same_weights(tmp_path, reference):
    reference_weights, reference_result = reference
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, __file__, str(tmp_path), "8"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["loop"]["step"] == 6

    model = make_model(init_seed=99)
    result = fit(model, weighted_bce, **SETTINGS, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert_same_run(result, reference_result)
    assert_same_weights(weights(model), reference_weights)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_run_on_cuda_resumes_to_the_same_weights(tmp_path):
    def on_cuda(data):
        return tuple(tensor.cuda() for tensor in data)

    settings = {**SETTINGS, "train": on_cuda(SETTINGS["train"])}
    settings["validation"] = on_cuda(SETTINGS["validation"])
    model = make_model().cuda()
    reference = fit(model, weighted_bce, **settings)
    with pytest.raises(Killed):
        fit(
            make_model().cuda(),
            weighted_bce,
            **settings,
            checkpoint_dir=tmp_path,
            checkpoint_every=2,
            callback=kill_at(7),
        )
    resumed_model = make_model(init_seed=99).cuda()
    resumed = fit(resumed_model, weighted_bce, **settings, checkpoint_dir=tmp_path)
    assert [entry["epoch"] for entry in resumed.history] == [1, 2, 3, 4]
    for entry, expected in zip(resumed.history, reference.history, strict=True):
        assert entry["val_loss"] == pytest.approx(expected["val_loss"], rel=1e-5)
    torch.testing.assert_close(weights(resumed_model), weights(model))


def test_a_finished_run_resumes_without_training(tmp_path, reference):
    first = fit(make_model(), weighted_bce, **SETTINGS, checkpoint_dir=tmp_path)
    steps = []
    model = make_model(init_seed=99)
    again = fit(model, weighted_bce, **SETTINGS, checkpoint_dir=tmp_path, callback=steps.append)
    assert steps == []
    assert again == first  # seconds included: the history comes from the checkpoint
    assert_same_weights(weights(model), reference[0])


def test_more_epochs_continue_a_finished_run(tmp_path):
    settings = {**SETTINGS, "patience": None}
    model = make_model()
    straight = fit(model, weighted_bce, **{**settings, "epochs": 5})

    fit(make_model(), weighted_bce, **{**settings, "epochs": 2}, checkpoint_dir=tmp_path)
    continued_model = make_model(init_seed=99)
    continued = fit(
        continued_model, weighted_bce, **{**settings, "epochs": 5}, checkpoint_dir=tmp_path
    )
    assert_same_run(continued, straight)
    assert_same_weights(weights(continued_model), weights(model))

    untouched = make_model(init_seed=7)
    with pytest.raises(ConfigError, match="trained 5 epochs, more than epochs=3"):
        fit(untouched, weighted_bce, **{**settings, "epochs": 3}, checkpoint_dir=tmp_path)
    assert_same_weights(weights(untouched), weights(make_model(init_seed=7)))


def test_a_checkpoint_of_another_run_is_refused_unless_resume_is_false(tmp_path):
    fit(make_model(), weighted_bce, **{**SETTINGS, "epochs": 1}, checkpoint_dir=tmp_path)
    other = {**SETTINGS, "epochs": 1, "lr": 0.01}
    with pytest.raises(ConfigError, match="another run.*another checkpoint_dir.*resume=False"):
        fit(make_model(), weighted_bce, **other, checkpoint_dir=tmp_path)
    wider = nn.Sequential(nn.Linear(3, 9), nn.ReLU(), nn.Linear(9, 1))
    with pytest.raises(ConfigError, match="another run"):
        fit(wider, weighted_bce, **{**SETTINGS, "epochs": 1}, checkpoint_dir=tmp_path)

    steps = []
    fit(
        make_model(),
        weighted_bce,
        **other,
        checkpoint_dir=tmp_path,
        resume=False,
        callback=steps.append,
    )
    assert len(steps) == STEPS_PER_EPOCH
    fit(make_model(), weighted_bce, **other, checkpoint_dir=tmp_path)  # now it is this run's


def test_a_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="cannot read the checkpoint.*resume=False"):
        fit(make_model(), weighted_bce, **SETTINGS, checkpoint_dir=tmp_path)
    fit(
        make_model(),
        weighted_bce,
        **{**SETTINGS, "epochs": 1},
        checkpoint_dir=tmp_path,
        resume=False,
    )


# History, validation, early stopping


def test_history_records_weighted_train_loss_learning_rate_and_validation():
    steps = []
    result = fit(make_model(), weighted_bce, **SETTINGS, callback=steps.append)
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3, 4]
    assert [entry["lr"] for entry in result.history] == [0.05, 0.05, 0.025, 0.025]
    sizes = [BATCH] * (STEPS_PER_EPOCH - 1) + [ROWS % BATCH]
    for epoch, entry in enumerate(result.history, start=1):
        losses = [info.loss for info in steps if info.epoch == epoch]
        expected = sum(loss * size for loss, size in zip(losses, sizes, strict=True)) / ROWS
        assert entry["train_loss"] == pytest.approx(expected, rel=1e-12)
        assert entry["seconds"] > 0
    assert [info.step_in_epoch for info in steps[:STEPS_PER_EPOCH]] == [1, 2, 3, 4, 5]
    assert result.steps == len(steps) == 4 * STEPS_PER_EPOCH
    assert min(entry["val_loss"] for entry in result.history) == result.best_val_loss


def test_without_validation_there_is_no_val_loss_and_no_best_epoch():
    settings = {**SETTINGS, "validation": None, "patience": None}
    result = fit(make_model(), weighted_bce, **settings)
    assert [entry["val_loss"] for entry in result.history] == [None] * 4
    assert (result.best_epoch, result.best_val_loss, result.stopped_early) == (None, None, False)


def test_validation_loss_is_taken_in_eval_mode_without_grad_and_weighted_by_batch_size():
    calls = []

    def mean_of_x(model, batch):
        calls.append((model.training, torch.is_grad_enabled()))
        return model(batch[0]).sum() * 0 + batch[0].mean()

    x = torch.tensor([[0.0], [0.0], [0.0], [0.0], [10.0]])
    model = nn.Sequential(nn.Linear(1, 1))
    result = fit(
        model, mean_of_x, train=(x,), validation=(x,), epochs=1, batch_size=4, progress=False
    )
    # Batches of 4 and 1 rows: means 0 and 10, weighted 2, unweighted it would be 5.
    assert result.history[0]["val_loss"] == pytest.approx(2.0)
    assert calls == [(True, True)] * 2 + [(False, False)] * 2


@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_stops_after_patience_and_restores_the_best_weights(restore_best):
    # Validation labels are the training labels flipped: the better the fit, the worse.
    model = make_model()
    epoch_ends = {}

    def record(info):
        if info.step_in_epoch == info.steps_per_epoch:
            epoch_ends[info.epoch] = weights(model)

    settings = {**SETTINGS, "validation": make_data(flip=True), "epochs": 30, "patience": 2}
    settings["scheduler"] = None
    result = fit(model, weighted_bce, **settings, restore_best=restore_best, callback=record)
    val_losses = [entry["val_loss"] for entry in result.history]
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 2 < 30
    assert result.best_val_loss == min(val_losses) == val_losses[result.best_epoch - 1]
    kept = result.best_epoch if restore_best else len(result.history)
    assert_same_weights(weights(model), epoch_ends[kept])


def test_min_delta_sets_what_counts_as_an_improvement():
    settings = {**SETTINGS, "epochs": 30, "patience": 2, "min_delta": 1e9}
    result = fit(make_model(), weighted_bce, **settings)
    assert (result.best_epoch, len(result.history), result.stopped_early) == (1, 3, True)


def test_reduce_on_plateau_is_stepped_with_the_validation_loss():
    seen = []

    class Recording(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    result = fit(make_model(), weighted_bce, **{**SETTINGS, "scheduler": Recording})
    assert seen == [entry["val_loss"] for entry in result.history]


# Optimizers and gradients


@pytest.mark.parametrize(
    ("optimizer", "kind"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_named_optimizers_get_lr_and_weight_decay_and_train(optimizer, kind):
    built = []

    def keep(optimizer):
        built.append(optimizer)
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=1.0)

    settings = {**SETTINGS, "scheduler": keep, "epochs": 8, "lr": 0.1, "patience": None}
    result = fit(make_model(), weighted_bce, **settings, optimizer=optimizer, weight_decay=1e-4)
    assert type(built[0]) is kind
    assert built[0].param_groups[0]["lr"] == 0.1
    assert built[0].param_groups[0]["weight_decay"] == 1e-4
    assert result.history[-1]["train_loss"] < 0.8 * result.history[0]["train_loss"]


def test_an_optimizer_callable_gets_the_trainable_parameters():
    model = make_model()
    model[0].bias.requires_grad_(False)
    given = []

    def momentum_sgd(parameters):
        given.extend(parameters)
        return torch.optim.SGD(parameters, lr=0.05, momentum=0.9)

    frozen = model[0].bias.clone()
    fit(model, weighted_bce, **SETTINGS, optimizer=momentum_sgd)
    assert {id(p) for p in given} == {id(p) for p in model.parameters() if p.requires_grad}
    assert torch.equal(model[0].bias, frozen)


@pytest.mark.parametrize("max_grad_norm", [None, 0.5])
def test_max_grad_norm_clips_the_global_gradient_norm(max_grad_norm):
    model = make_model()
    norms = []

    def steep(model, batch):
        return 100 * weighted_bce(model, batch)

    def record(info):
        grads = [p.grad.flatten() for p in model.parameters()]
        norms.append(torch.cat(grads).norm().item())

    fit(model, steep, **SETTINGS, max_grad_norm=max_grad_norm, callback=record)
    if max_grad_norm is None:
        assert max(norms) > 0.5  # without clipping the bound is exceeded: the test can fail
    else:
        assert max(norms) <= 0.5 * (1 + 1e-5)


# Progress


def test_the_progress_bar_shows_epoch_and_loss_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    fit(make_model(), weighted_bce, **{**SETTINGS, "epochs": 2, "progress": True})
    shown = capsys.readouterr().err
    assert "epoch 2/2" in shown and "loss " in shown and "(best " in shown

    fit(make_model(), weighted_bce, **{**SETTINGS, "epochs": 2, "progress": False})
    assert capsys.readouterr().err == ""


# Bad input


def test_a_loss_that_becomes_nan_names_the_epoch_and_step_and_keeps_the_weights():
    model = make_model()
    calls = []
    before_bad_step = {}

    def breaks_at_seventh_step(model, batch):
        calls.append(model.training)
        loss = weighted_bce(model, batch)
        return loss * math.nan if sum(calls) == 7 else loss

    def record(info):
        before_bad_step.update(weights(model))

    with pytest.raises(TrainingError, match=r"nan at epoch 2, step 2 of 5 \(step 7 of the run\)"):
        fit(model, breaks_at_seventh_step, **SETTINGS, callback=record)
    assert_same_weights(weights(model), before_bad_step)


def test_a_validation_loss_that_is_nan_is_a_training_error():
    def nan_in_eval(model, batch):
        loss = weighted_bce(model, batch)
        return loss if model.training else loss * math.nan

    with pytest.raises(TrainingError, match="validation loss is nan at the end of epoch 1"):
        fit(make_model(), nan_in_eval, **SETTINGS)


def test_a_loss_that_is_not_a_scalar_is_a_config_error():
    def per_row(model, batch):
        return model(batch[0])

    with pytest.raises(ConfigError, match=r"scalar tensor.*shape \(8, 1\).*\.mean\(\)"):
        fit(make_model(), per_row, **SETTINGS)


def test_a_model_without_trainable_parameters_is_a_config_error():
    model = make_model().requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        fit(model, weighted_bce, **SETTINGS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epochs": 0}, "epochs must be an integer ≥ 1, got 0"),
        ({"epochs": 2.5}, "epochs must be an integer"),
        ({"batch_size": True}, "batch_size must be an integer ≥ 1, got True"),
        ({"batch_size": -4}, "batch_size must be an integer ≥ 1"),
        ({"lr": 0.0}, r"lr must be a finite number > 0, got 0.0"),
        ({"lr": math.inf}, "lr must be a finite number > 0"),
        ({"weight_decay": -0.1}, "weight_decay must be a finite number ≥ 0"),
        ({"optimizer": "adamx"}, "unknown optimizer 'adamx'; use one of 'adam', 'adamw', 'sgd'"),
        ({"optimizer": 3}, "optimizer must be a name or a callable"),
        ({"scheduler": "step"}, "scheduler must be a callable"),
        ({"patience": 0}, "patience must be an integer ≥ 1"),
        ({"patience": 2, "validation": None}, "patience .* needs validation data"),
        ({"min_delta": -1.0}, "min_delta must be a finite number ≥ 0"),
        ({"max_grad_norm": 0}, "max_grad_norm must be a finite number > 0"),
        ({"checkpoint_every": 10}, "checkpoint_every needs checkpoint_dir"),
        ({"seed": 0.5}, "seed must be an integer"),
        ({"callback": 3}, "callback must be callable"),
    ],
)
def test_invalid_settings_are_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        fit(make_model(), weighted_bce, **{**SETTINGS, **change})


def test_a_checkpoint_every_at_zero_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint_every must be an integer ≥ 1, got 0"):
        fit(make_model(), weighted_bce, **SETTINGS, checkpoint_dir=tmp_path, checkpoint_every=0)


def with_value(data, index, row, value):
    tensors = [tensor.clone() for tensor in data]
    tensors[index][row] = value
    return tuple(tensors)


X, Y, W = make_data()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train": X}, r"train must be a tuple of tensors .* got a tensor of shape \(36, 3\)"),
        ({"train": ()}, "train is an empty tuple"),
        ({"train": (X, Y[:-1], W)}, r"disagree on their number of rows .*\[36, 35, 36\]"),
        ({"train": (X[:0], Y[:0], W[:0])}, "train is empty: its tensors have 0 rows"),
        ({"train": (X, Y.tolist(), W)}, r"train\[1\] is .*list.*not a torch.Tensor"),
        ({"train": (X, Y, torch.tensor(1.0))}, r"train\[2\] has no dimensions"),
        (
            {"train": with_value(with_value((X, Y, W), 1, 4, math.nan), 1, 9, math.nan)},
            r"train\[1\] holds 2 NaN and 0 infinite values \(of 36\), the first in row 4",
        ),
        (
            {"validation": with_value(make_data(rows=20, seed=1), 0, 3, -math.inf)},
            r"validation\[0\] holds 0 NaN and 3 infinite values \(of 60\), the first in row 3",
        ),
        ({"validation": (X, Y)}, "validation holds 2 tensors but train holds 3"),
        ({"validation": (X[:, :2], Y, W)}, r"validation\[0\] has rows of shape \(2,\)"),
        ({"validation": (X.double(), Y, W)}, r"validation\[0\] .*dtype torch.float64"),
    ],
)
def test_invalid_data_are_data_errors(change, message):
    with pytest.raises(DataError, match=message):
        fit(make_model(), weighted_bce, **{**SETTINGS, **change})


def test_integer_labels_are_not_checked_for_nan_and_train_fine():
    def cross_entropy(model, batch):
        x, label = batch
        return F.cross_entropy(model(x), label)

    x, y, _ = make_data()
    model = nn.Linear(3, 2)
    result = fit(
        model,
        cross_entropy,
        train=(x, y.squeeze(1).long()),
        epochs=3,
        batch_size=BATCH,
        lr=0.1,
        progress=False,
    )
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
