"""The generic fit loop: batches, validation, early stopping, checkpoints and resume."""

import functools
import hashlib
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from rich.progress import Progress, TextColumn
from torch import nn

from robusthep.errors import ConfigError, DataError, TrainingError
from robusthep.progress import progress_bar
from robusthep.train.checkpoint import fingerprint, read_checkpoint, write_checkpoint

__all__ = ["StepInfo", "TrainResult", "fit"]

Batch = tuple[torch.Tensor, ...]
LossFunction = Callable[[nn.Module, Batch], torch.Tensor]
OptimizerFactory = Callable[[list[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]

_OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}


@dataclass(frozen=True)
class StepInfo:
    """What the callback of :func:`fit` is told after each optimizer step.

    Attributes:
        epoch: the epoch in progress, counting from 1.
        step: optimizer steps taken in the whole run, this one included.
        step_in_epoch: optimizer steps taken in this epoch, this one included.
        steps_per_epoch: optimizer steps an epoch takes.
        loss: this step's training loss.
        lr: the learning rate of the first parameter group during this step.
    """

    epoch: int
    step: int
    step_in_epoch: int
    steps_per_epoch: int
    loss: float
    lr: float


@dataclass(frozen=True)
class TrainResult:
    """What :func:`fit` returns.

    Attributes:
        history: one dict an epoch, with ``epoch`` (counting from 1), ``train_loss`` (the
            epoch's batch losses averaged with the batch sizes as weights), ``val_loss``
            (None without validation data), ``lr`` (during the epoch) and ``seconds``
            (wall time; the only entry a resumed run does not reproduce).
        best_epoch: the epoch of the lowest validation loss; None without validation data.
        best_val_loss: that loss; None without validation data.
        steps: optimizer steps taken in all.
        stopped_early: whether early stopping ended training before ``epochs``.
    """

    history: list[dict[str, Any]]
    best_epoch: int | None
    best_val_loss: float | None
    steps: int
    stopped_early: bool


@dataclass
class _Loop:
    """Where a run stands: everything a checkpoint must hold besides the torch states."""

    epoch: int = 1  # the epoch in progress
    step_in_epoch: int = 0  # optimizer steps already taken in it
    step: int = 0  # optimizer steps taken in all
    loss_sum: float = 0.0  # of this epoch's batch losses times batch sizes
    loss_rows: int = 0
    seconds: float = 0.0  # wall time of this epoch before the last checkpoint
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    best_weights: dict[str, torch.Tensor] | None = None
    epochs_without_improvement: int = 0
    stopped_early: bool = False

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies the best weights.
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class _Run:
    """One call of :func:`fit`: its fixed parts, and the loop state that checkpoints save."""

    model: nn.Module
    loss_fn: LossFunction
    optimizer: torch.optim.Optimizer
    scheduler: Any
    train: Batch
    validation: Batch | None
    epochs: int
    batch_size: int
    patience: int | None
    min_delta: float
    max_grad_norm: float | None
    checkpoint_dir: str | os.PathLike | None
    checkpoint_every: int | None
    seed: int
    fingerprint: str
    callback: Callable[[StepInfo], Any] | None
    cuda_devices: list[int]
    loop: _Loop = field(default_factory=_Loop)
    progress: Progress | None = None
    task: Any = None  # the progress bar's task

    @functools.cached_property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train[0]) / self.batch_size)

    @functools.cached_property
    def parameters(self) -> list[nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def run(self) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task(
                "",
                total=self.epochs * self.steps_per_epoch,
                completed=self.loop.step,
                loss="",
                val_loss="",
            )
            self._show_val_loss()
        while self.loop.epoch <= self.epochs and not self.loop.stopped_early:
            started = time.perf_counter() - self.loop.seconds
            self._train_epoch(started)
            self._end_epoch(started)

    def _train_epoch(self, started: float) -> None:
        loop = self.loop
        self.model.train()
        order = _epoch_order(self.seed, loop.epoch, len(self.train[0]), self.train)
        if self.progress is not None:
            self.progress.update(self.task, description=f"epoch {loop.epoch}/{self.epochs}")
        for index in range(loop.step_in_epoch, self.steps_per_epoch):
            window = slice(index * self.batch_size, (index + 1) * self.batch_size)
            batch = tuple(tensor[order[tensor.device][window]] for tensor in self.train)
            rows = len(batch[0])
            loss = self._step(batch)
            loop.step += 1
            loop.step_in_epoch += 1
            loop.loss_sum += loss * rows
            loop.loss_rows += rows
            if (
                self.checkpoint_every is not None
                and loop.step % self.checkpoint_every == 0
                and loop.step_in_epoch < self.steps_per_epoch  # the epoch's end writes one
            ):
                loop.seconds = time.perf_counter() - started
                self._save()
            if self.progress is not None:
                self.progress.update(self.task, completed=loop.step, loss=f"loss {loss:.4g}")
            if self.callback is not None:
                self.callback(
                    StepInfo(
                        epoch=loop.epoch,
                        step=loop.step,
                        step_in_epoch=loop.step_in_epoch,
                        steps_per_epoch=self.steps_per_epoch,
                        loss=loss,
                        lr=_learning_rate(self.optimizer),
                    )
                )

    def _step(self, batch: Batch) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model, batch)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise ConfigError(
                "loss_fn must return a scalar tensor (0 dimensions), got "
                f"{_describe(loss)}; reduce it, e.g. with .mean()"
            )
        loss.backward()
        value = loss.item()
        if not math.isfinite(value):
            loop = self.loop
            raise TrainingError(
                f"the training loss is {value} at epoch {loop.epoch}, step "
                f"{loop.step_in_epoch + 1} of {self.steps_per_epoch} (step {loop.step + 1} of "
                "the run); the weights are those before this step. Lower lr, set "
                "max_grad_norm, or look in loss_fn for a log(0) or a division by zero"
            )
        if self.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.parameters, self.max_grad_norm)
        self.optimizer.step()
        return value

    def _validate(self, validation: Batch) -> float:
        self.model.eval()
        rows = len(validation[0])
        weighted = []
        with torch.no_grad():
            for start in range(0, rows, self.batch_size):
                batch = tuple(tensor[start : start + self.batch_size] for tensor in validation)
                loss = self.loss_fn(self.model, batch)
                weighted.append(loss.detach().double() * len(batch[0]))
        value = torch.stack(weighted).sum().item() / rows
        if not math.isfinite(value):
            raise TrainingError(
                f"the validation loss is {value} at the end of epoch {self.loop.epoch}; "
                "look in loss_fn for a log(0) or a division by zero, or lower lr"
            )
        return value

    def _end_epoch(self, started: float) -> None:
        loop = self.loop
        train_loss = loop.loss_sum / loop.loss_rows
        val_loss = None if self.validation is None else self._validate(self.validation)
        loop.history.append(
            {
                "epoch": loop.epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "lr": _learning_rate(self.optimizer),
                "seconds": time.perf_counter() - started,
            }
        )
        if val_loss is not None:
            self._track_best(val_loss)
            self._show_val_loss()
        if self.scheduler is not None:
            _step_scheduler(self.scheduler, train_loss if val_loss is None else val_loss)
        loop.epoch += 1
        loop.step_in_epoch = loop.loss_rows = 0
        loop.loss_sum = loop.seconds = 0.0
        self._save()

    def _show_val_loss(self) -> None:
        history = self.loop.history
        if self.progress is not None and history and history[-1]["val_loss"] is not None:
            entry = history[-1]
            best = self.loop.best_val_loss
            text = f"val {entry['val_loss']:.4g} (best {best:.4g}, epoch {self.loop.best_epoch})"
            self.progress.update(self.task, val_loss=text)

    def _track_best(self, val_loss: float) -> None:
        loop = self.loop
        if loop.best_val_loss is None or val_loss < loop.best_val_loss - self.min_delta:
            loop.best_epoch, loop.best_val_loss = loop.epoch, val_loss
            loop.best_weights = {
                name: value.detach().clone() for name, value in self.model.state_dict().items()
            }
            loop.epochs_without_improvement = 0
        else:
            loop.epochs_without_improvement += 1
            loop.stopped_early = (
                self.patience is not None and loop.epochs_without_improvement >= self.patience
            )

    def _save(self) -> None:
        if self.checkpoint_dir is None:
            return
        write_checkpoint(
            self.checkpoint_dir,
            {
                "fingerprint": self.fingerprint,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "rng": {
                    "cpu": torch.get_rng_state(),
                    "cuda": [torch.cuda.get_rng_state(device) for device in self.cuda_devices],
                },
                "loop": self.loop.as_dict(),
            },
        )

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's state; its RNG states are set by :meth:`seed_rng`."""
        loop = _Loop(**state["loop"])
        started = loop.epoch - 1 + (loop.step_in_epoch > 0)  # epochs begun
        if started > self.epochs:
            raise ConfigError(
                f"the checkpoint in {self.checkpoint_dir} has trained {started} epochs, more "
                f"than epochs={self.epochs}; ask for at least {started}, or pass resume=False"
            )
        self.loop = loop
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])

    def seed_rng(self, state: dict[str, Any] | None) -> None:
        """Seed the (forked) global RNGs, or set them as a checkpoint saved them."""
        if state is None:
            torch.default_generator.manual_seed(self.seed)
            for device in self.cuda_devices:
                with torch.cuda.device(device):
                    torch.cuda.manual_seed(self.seed)
            return
        torch.set_rng_state(state["rng"]["cpu"])
        for device, rng in zip(self.cuda_devices, state["rng"]["cuda"], strict=False):
            torch.cuda.set_rng_state(rng, device)

    def result(self) -> TrainResult:
        loop = self.loop
        return TrainResult(
            history=loop.history,
            best_epoch=loop.best_epoch,
            best_val_loss=loop.best_val_loss,
            steps=loop.step,
            stopped_early=loop.stopped_early,
        )


def fit(
    model: nn.Module,
    loss_fn: LossFunction,
    *,
    train: Sequence[torch.Tensor],
    validation: Sequence[torch.Tensor] | None = None,
    epochs: int = 100,
    batch_size: int = 256,
    lr: float = 1e-3,
    optimizer: str | OptimizerFactory = "adam",
    weight_decay: float = 0.0,
    scheduler: SchedulerFactory | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    max_grad_norm: float | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[StepInfo], Any] | None = None,
) -> TrainResult:
    """Train ``model`` in place by minimising ``loss_fn`` over shuffled mini-batches.

    The trainer knows nothing of the model: ``loss_fn(model, batch)`` returns a scalar tensor
    for a batch, a tuple holding the same rows of every tensor in ``train`` (features,
    labels, weights, nuisances, …). The last batch of an epoch may be smaller. Data stay
    where they are: put them on the model's device beforehand.

    The same ``seed`` gives bit-identical weights on a CPU: each epoch's shuffle comes from
    its own generator seeded from ``(seed, epoch)``, and the global torch RNG (dropout, any
    noise drawn in ``loss_fn``) is seeded from ``seed`` inside a fork, so the caller's RNG
    state is the same after ``fit`` as before. The model's initial weights are the caller's
    to seed.

    With ``checkpoint_dir``, a run killed at any moment and started again with the same
    arguments continues from its last checkpoint and ends with the same weights and history
    (but ``seconds``) as a run never interrupted. Calling ``fit`` again on a finished run
    trains nothing and returns its result; a larger ``epochs`` continues it.

    Arguments:
        model: any module, trained in place; it is left in the train/eval mode it came in.
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``. It is also the validation
            loss, then called in eval mode under :func:`torch.no_grad`.
        train: tensors sharing their first dimension (the rows, e.g. events).
        validation: tensors like ``train``; after each epoch, the validation loss is the
            mean of ``loss_fn`` over batches of ``batch_size`` rows weighted by their sizes.
        epochs: the most epochs to train.
        batch_size: rows a batch.
        lr: the learning rate of a named ``optimizer``.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (no momentum), or a callable that
            takes the list of trainable parameters and returns an optimizer (then ``lr`` and
            ``weight_decay`` are its business).
        weight_decay: the weight decay of a named ``optimizer``.
        scheduler: a callable ``optimizer -> learning-rate scheduler``, stepped once after
            every epoch (``ReduceLROnPlateau`` gets the validation loss, or the training
            loss without validation data).
        patience: stop after this many epochs in a row without a validation loss lower
            than the best by more than ``min_delta``; None never stops early.
        min_delta: the least decrease of the validation loss that counts as better.
        restore_best: at the end, load the weights of the epoch with the best validation
            loss (without validation data, the last weights stay).
        max_grad_norm: clip the gradients' global 2-norm to this before each step.
        checkpoint_dir: a folder for this run's checkpoint, written atomically at each
            epoch's end and every ``checkpoint_every`` steps.
        checkpoint_every: write a checkpoint every this many optimizer steps as well.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; it
            must be of the same run (same settings, data shapes, model shapes and names of
            ``loss_fn``, ``optimizer``, ``scheduler``; ``epochs`` may grow). With False, the
            run starts afresh and overwrites it.
        seed: seeds the shuffling and the global torch RNG during training.
        progress: show a rich progress bar on a terminal (epoch, steps, loss).
        callback: called with a :class:`StepInfo` after every step (after that step's
            checkpoint, if it has one, and before the validation of an epoch's last step);
            what it raises stops training and propagates.

    Returns:
        A :class:`TrainResult`: history, best epoch and loss, steps, whether it stopped early.

    Raises:
        ConfigError: an invalid argument, or a checkpoint of another run in ``checkpoint_dir``.
        DataError: data that are not a tuple of tensors with one number of rows, that are
            empty, or that hold NaN or infinite values.
        TrainingError: a loss that becomes NaN or infinite; the message names the epoch and
            the step.

    Example:
        >>> import torch
        >>> x = torch.linspace(-1, 1, 64).unsqueeze(1)
        >>> model = torch.nn.Linear(1, 1)
        >>> def mse(model, batch):
        ...     x, y = batch
        ...     return torch.nn.functional.mse_loss(model(x), y)
        >>> result = fit(model, mse, train=(x, 3 * x), validation=(x, 3 * x), epochs=40,
        ...              batch_size=16, lr=0.1, progress=False)
        >>> len(result.history), result.history[-1]["val_loss"] < 1e-3
        (40, True)
        >>> round(model.weight.item(), 2)
        3.0
    """
    _check_settings(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        patience=patience,
        min_delta=min_delta,
        max_grad_norm=max_grad_norm,
        checkpoint_every=checkpoint_every,
        seed=seed,
    )
    _check_callables(model=model, loss_fn=loss_fn, optimizer=optimizer, scheduler=scheduler)
    if callback is not None and not callable(callback):
        raise ConfigError(f"callback must be callable or None, got {_describe(callback)}")
    if checkpoint_every is not None and checkpoint_dir is None:
        raise ConfigError("checkpoint_every needs checkpoint_dir, the folder to write them to")
    train = _check_data("train", train)
    if validation is not None:
        validation = _check_data("validation", validation, like=train)
    elif patience is not None:
        raise ConfigError("patience (early stopping) needs validation data; pass validation=")

    trainable = [p for p in model.parameters() if p.requires_grad]
    built = _build_optimizer(optimizer, trainable, lr=lr, weight_decay=weight_decay)
    run = _Run(
        model=model,
        loss_fn=loss_fn,
        optimizer=built,
        scheduler=None if scheduler is None else scheduler(built),
        train=train,
        validation=validation,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        min_delta=float(min_delta),
        max_grad_norm=None if max_grad_norm is None else float(max_grad_norm),
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        seed=seed,
        fingerprint=fingerprint(
            {
                "seed": seed,
                "batch_size": batch_size,
                "lr": float(lr),
                "optimizer": _name(optimizer),
                "weight_decay": float(weight_decay),
                "scheduler": _name(scheduler),
                "patience": patience,
                "min_delta": float(min_delta),
                "max_grad_norm": max_grad_norm,
                "loss_fn": _name(loss_fn),
                "train": _layout(train),
                "validation": _layout(validation),
            },
            model,
        ),
        callback=callback,
        cuda_devices=sorted({p.device.index or 0 for p in trainable if p.device.type == "cuda"}),
    )
    state = None
    if checkpoint_dir is not None and resume:
        state = read_checkpoint(checkpoint_dir, run.fingerprint)
    if state is not None:
        run.restore(state)

    was_training = model.training
    try:
        with torch.random.fork_rng(devices=run.cuda_devices), _progress_bar(progress) as bar:
            run.progress = bar
            run.seed_rng(state)
            run.run()
    finally:
        model.train(was_training)
    if restore_best and run.loop.best_weights is not None:
        model.load_state_dict(run.loop.best_weights)
    return run.result()


def _check_settings(**settings: Any) -> None:
    integers = {"epochs": 1, "batch_size": 1, "patience": 1, "checkpoint_every": 1}
    reals = {"lr": True, "weight_decay": False, "min_delta": False, "max_grad_norm": True}
    optional = {"patience", "checkpoint_every", "max_grad_norm"}
    for name, value in settings.items():
        if value is None and name in optional:
            continue
        is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if name == "seed" and not is_integer:
            raise ConfigError(f"seed must be an integer, got {value!r}")
        if name in integers and not (is_integer and value >= integers[name]):
            raise ConfigError(f"{name} must be an integer ≥ {integers[name]}, got {value!r}")
        if name in reals:
            positive = reals[name]
            is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not (is_real and math.isfinite(value) and (value > 0 if positive else value >= 0)):
                bound = "> 0" if positive else "≥ 0"
                raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}")


def _check_callables(*, model: Any, loss_fn: Any, optimizer: Any, scheduler: Any) -> None:
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {_describe(model)}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError(f"{type(model).__name__} has no trainable parameters: nothing to fit")
    if not callable(loss_fn):
        raise ConfigError(
            f"loss_fn must be callable as loss_fn(model, batch), got {_describe(loss_fn)}"
        )
    if isinstance(optimizer, str):
        if optimizer not in _OPTIMIZERS:
            valid = ", ".join(repr(name) for name in _OPTIMIZERS)
            raise ConfigError(
                f"unknown optimizer {optimizer!r}; use one of {valid}, or a callable "
                "params -> torch.optim.Optimizer"
            )
    elif not callable(optimizer):
        raise ConfigError(f"optimizer must be a name or a callable, got {_describe(optimizer)}")
    if scheduler is not None and not callable(scheduler):
        raise ConfigError(
            "scheduler must be a callable optimizer -> scheduler or None, got "
            f"{_describe(scheduler)}"
        )


def _check_data(name: str, tensors: Sequence[torch.Tensor], *, like: Batch | None = None) -> Batch:
    if not isinstance(tensors, tuple | list):
        raise DataError(
            f"{name} must be a tuple of tensors such as (x, y, w), got {_describe(tensors)}; "
            f"wrap a single tensor as {name}=(x,)"
        )
    if not tensors:
        raise DataError(f"{name} is an empty tuple; give at least one tensor")
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, torch.Tensor):
            raise DataError(
                f"{name}[{index}] is {_describe(tensor)}, not a torch.Tensor; convert it "
                "with torch.as_tensor"
            )
        if tensor.ndim == 0:
            raise DataError(f"{name}[{index}] has no dimensions; its first must count the rows")
    rows = [len(tensor) for tensor in tensors]
    if len(set(rows)) > 1:
        raise DataError(
            f"the tensors of {name} disagree on their number of rows (first dimension): "
            f"{rows}; row i of every tensor must describe the same event"
        )
    if rows[0] == 0:
        raise DataError(f"{name} is empty: its tensors have 0 rows")
    if like is not None:
        _check_same_layout(name, tensors, like)
    for index, tensor in enumerate(tensors):
        _check_finite(f"{name}[{index}]", tensor)
    return tuple(tensors)


def _check_same_layout(name: str, tensors: Sequence[torch.Tensor], like: Batch) -> None:
    if len(tensors) != len(like):
        raise DataError(
            f"{name} holds {len(tensors)} tensors but train holds {len(like)}; "
            "give both the same structure"
        )
    for index, (tensor, reference) in enumerate(zip(tensors, like, strict=True)):
        if tensor.shape[1:] != reference.shape[1:] or tensor.dtype != reference.dtype:
            raise DataError(
                f"{name}[{index}] has rows of shape {tuple(tensor.shape[1:])} and dtype "
                f"{tensor.dtype}, but train[{index}] has {tuple(reference.shape[1:])} and "
                f"{reference.dtype}"
            )


def _check_finite(label: str, tensor: torch.Tensor) -> None:
    if not (tensor.is_floating_point() or tensor.is_complex()):
        return
    bad = ~torch.isfinite(tensor)
    if not bool(bad.any()):
        return
    nan = int(torch.isnan(tensor).sum())
    infinite = int(bad.sum()) - nan
    first_row = int(bad.reshape(len(tensor), -1).any(dim=1).nonzero()[0, 0])
    raise DataError(
        f"{label} holds {nan} NaN and {infinite} infinite values (of {tensor.numel()}), "
        f"the first in row {first_row}; drop or impute them before training"
    )


def _build_optimizer(
    optimizer: str | OptimizerFactory,
    parameters: list[nn.Parameter],
    *,
    lr: float,
    weight_decay: float,
) -> torch.optim.Optimizer:
    if isinstance(optimizer, str):
        return _OPTIMIZERS[optimizer](parameters, lr=lr, weight_decay=weight_decay)
    built = optimizer(parameters)
    if not isinstance(built, torch.optim.Optimizer):
        raise ConfigError(
            f"the optimizer callable must return a torch.optim.Optimizer, got {_describe(built)}"
        )
    return built


def _epoch_order(
    seed: int, epoch: int, rows: int, tensors: Iterable[torch.Tensor]
) -> dict[torch.device, torch.Tensor]:
    # Seeded from (seed, epoch) alone, so a run resumed mid-epoch redraws the same order.
    digest = hashlib.sha256(f"robusthep.train/{seed}/{epoch}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))
    order = torch.randperm(rows, generator=generator)
    return {tensor.device: order.to(tensor.device) for tensor in tensors}


def _step_scheduler(scheduler: Any, loss: float) -> None:
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(loss)
    else:
        scheduler.step()


def _learning_rate(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def _progress_bar(enabled: bool) -> Progress:
    return progress_bar(
        enabled,
        TextColumn("{task.fields[loss]}"),
        TextColumn("{task.fields[val_loss]}"),
        elapsed=True,
    )


def _name(value: Any) -> str | None:
    """A name that is the same in every process (no memory addresses), for fingerprints."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, functools.partial):
        return _name(value.func)
    return getattr(value, "__qualname__", type(value).__qualname__)


def _layout(tensors: Batch | None) -> list[list[Any]] | None:
    if tensors is None:
        return None
    return [[list(tensor.shape), str(tensor.dtype)] for tensor in tensors]


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{value!r} ({type(value).__name__})"
