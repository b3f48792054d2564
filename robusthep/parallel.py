"""One interface, ``Executor.map(fn, items)``, for local processes and Ray clusters."""

import multiprocessing
import os
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from robusthep.errors import ConfigError, MissingDependencyError

__all__ = ["EXECUTOR_KINDS", "Executor"]

EXECUTOR_KINDS = ("local", "ray")

Item = TypeVar("Item")
Result = TypeVar("Result")


class Executor:
    """Run a function over work items, in order, on local processes or on a Ray cluster.

    Work items carry their own seeds, so the results never depend on the kind of
    executor or on the number of workers: ``map`` returns them in the order of ``items``.

    Arguments:
        kind: ``"local"`` (a process pool, the default) or ``"ray"``.
        workers: number of worker processes (``local``) or CPUs for a Ray cluster started
            here; default: the number of cores. ``workers=1`` with ``local`` runs in
            this process, without a pool.
        address: Ray only: ``None`` starts a private local cluster, ``"auto"`` joins the
            cluster running on this machine, ``"host:port"`` joins that head node.

    Example:
        >>> Executor("local", workers=1).map(abs, [-1, 2, -3])
        [1, 2, 3]
    """

    def __init__(
        self, kind: str = "local", *, workers: int | None = None, address: str | None = None
    ) -> None:
        if kind not in EXECUTOR_KINDS:
            raise ConfigError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTOR_KINDS)}")
        if workers is not None and workers < 1:
            raise ConfigError(f"workers must be at least 1, got {workers}")
        if address is not None and kind != "ray":
            raise ConfigError(f"an address ({address!r}) only makes sense with the 'ray' executor")
        self.kind = kind
        self.workers = workers or os.cpu_count() or 1
        self.address = address

    def __repr__(self) -> str:
        return f"Executor({self.kind!r}, workers={self.workers}, address={self.address!r})"

    def map(
        self,
        fn: Callable[[Item], Result],
        items: Iterable[Item],
        *,
        on_done: Callable[[int, Result], None] | None = None,
    ) -> list[Result]:
        """Apply ``fn`` to every item and return the results in the order of ``items``.

        Arguments:
            fn: a picklable (module-level) function of one argument.
            items: the work items, each picklable.
            on_done: called in this process as ``on_done(index, result)`` whenever an
                item finishes (in completion order), e.g. to advance a progress bar.

        Returns:
            ``[fn(item) for item in items]``.
        """
        items = list(items)
        if not items:
            return []
        if self.kind == "ray":
            return _map_ray(fn, items, self.workers, self.address, on_done)
        if self.workers == 1 or len(items) == 1:
            return _map_serial(fn, items, on_done)
        return _map_processes(fn, items, min(self.workers, len(items)), on_done)


def _map_serial(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    on_done: Callable[[int, Any], None] | None,
) -> list[Any]:
    results = []
    for index, item in enumerate(items):
        result = fn(item)
        if on_done is not None:
            on_done(index, result)
        results.append(result)
    return results


def _map_processes(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    on_done: Callable[[int, Any], None] | None,
) -> list[Any]:
    # "spawn": forking a process that holds threads (Ray, BLAS) can deadlock.
    context = multiprocessing.get_context("spawn")
    results: list[Any] = [None] * len(items)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = {pool.submit(fn, item): index for index, item in enumerate(items)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    results[index] = future.result()
                    if on_done is not None:
                        on_done(index, results[index])
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:  # pragma: no cover - ray is a declared dependency
        raise MissingDependencyError(
            "the 'ray' executor needs Ray: pip install 'ray>=2.9'"
        ) from error
    return ray


def _check_reachable(address: str) -> None:
    """Fail fast, with a clear message, when a Ray head node cannot be reached."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            f"Ray address {address!r} is not 'auto' or 'host:port' (e.g. '10.0.0.1:6379')"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            pass
    except OSError as error:
        raise ConfigError(
            f"cannot reach the Ray head node at {address!r} ({error}); start one with "
            "`ray start --head`, or use address='auto' on a cluster node, or no address "
            "for a private local cluster"
        ) from error


def _map_ray(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    address: str | None,
    on_done: Callable[[int, Any], None] | None,
) -> list[Any]:
    ray = _import_ray()
    started_here = False
    if not ray.is_initialized():
        if address is not None:
            _check_reachable(address)
        try:
            if address is None:
                # Workers of a cluster started here import what this process can import.
                path = os.pathsep.join(entry for entry in sys.path if entry)
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                    runtime_env={"env_vars": {"PYTHONPATH": path}},
                )
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except ConnectionError as error:
            raise ConfigError(
                f"cannot join the Ray cluster at {address!r}: {error}; is `ray start --head` "
                "running? A head of Ray >= 2.59 asks for its token: set RAY_AUTH_MODE=token "
                "here (the token is read from ~/.ray/auth_token or RAY_AUTH_TOKEN)"
            ) from error
        started_here = True
    try:
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(item) for item in items]
        index_of = {ref: index for index, ref in enumerate(refs)}
        results: list[Any] = [None] * len(items)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                index = index_of[ref]
                results[index] = ray.get(ref)
                if on_done is not None:
                    on_done(index, results[index])
        return results
    finally:
        if started_here:
            ray.shutdown()
