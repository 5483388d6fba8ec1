"""The Ray executor: one actor per worker holds the model; the driver hands out chunks.

Connects to `address` (or $RAY_ADDRESS; `auto` finds a cluster started with `ray start`), or starts
a local cluster when neither is given. Each actor asks for executor.ray.{num_cpus,num_gpus} and
runs up to max_concurrency chunks at once; it loads the model once (task.setup) and is restarted by
Ray after a crash (max_restarts) with its in-flight chunk retried (max_task_retries), which the
chunk markers make idempotent. The driver keeps every actor busy, largest chunks first, and
raises one error naming each chunk that still failed with its worker's message.
"""

from __future__ import annotations

import os
import socket

from builder.errors import InputError, PsrError

CONNECT_TIMEOUT_S = 10


def require_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray: pip install 'psr-builder[ray]'") from None
    return ray


class ChunkWorker:
    """The actor body: the task's state lives here for the actor's lifetime."""

    def __init__(self, task):
        self.task, self.state = task, task.setup()

    def run(self, c: int) -> dict:
        return self.task.run(self.state, c, None)


def run_on_ray(task, todo: list[int], settings, address: str | None, on_done) -> None:
    ray = require_ray()
    connect(ray, address)
    try:
        n = n_workers(settings, len(todo), ray.cluster_resources())
        worker = ray.remote(ChunkWorker).options(
            num_cpus=settings.num_cpus, num_gpus=settings.num_gpus, max_concurrency=settings.max_concurrency,
            max_restarts=settings.max_retries, max_task_retries=settings.max_retries)
        actors = [worker.remote(task) for _ in range(n)]
        failed = dispatch(ray, actors, sorted(todo, key=lambda c: (-task.size(c), c)), settings.max_concurrency, on_done)
    finally:
        ray.shutdown()  # stops a local cluster started by connect(); only disconnects from a remote one
    if failed:
        names = "; ".join(f"chunk {c}: {msg}" for c, msg in sorted(failed.items()))
        raise PsrError(f"{len(failed)} chunk(s) failed on Ray ({names}; a lost worker is retried up to "
                       f"{settings.max_retries} times); the other chunks are kept: rerun the same command")


def dispatch(ray, actors: list, queue: list[int], slots: int, on_done) -> dict[int, str]:
    """Keep `slots` chunks in flight per live actor; returns {chunk: worker's message} of failures."""
    inflight, failed, dead = {}, {}, set()
    free = [a for a in actors for _ in range(slots)]
    while queue or inflight:
        while queue and free:
            actor = free.pop(0)
            c = queue.pop(0)
            inflight[actor.run.remote(c)] = (c, actor)
        if not inflight:  # every actor is dead: the rest cannot run
            failed.update({c: "no live Ray worker left" for c in queue})
            break
        [ref], _ = ray.wait(list(inflight), num_returns=1)
        c, actor = inflight.pop(ref)
        try:
            marker = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            dead.add(actor)
            failed[c] = worker_message(exc)
            continue
        except ray.exceptions.RayError as exc:
            failed[c] = worker_message(exc)
        else:
            on_done(c, marker)
        if actor not in dead:
            free.append(actor)
    return failed


def worker_message(exc) -> str:
    """The worker's own exception (type: message) when Ray carries it, else Ray's first line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}".splitlines()[0]
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def n_workers(settings, n_chunks: int, resources: dict) -> int:
    """executor.ray.workers, or as many actors as the cluster's CPUs/GPUs fit; never more than chunks."""
    if settings.workers:
        return max(1, min(settings.workers, n_chunks))
    fits = []
    if settings.num_cpus:
        fits.append(int(resources.get("CPU", 0) // settings.num_cpus))
    if settings.num_gpus:
        fits.append(int(resources.get("GPU", 0) // settings.num_gpus))
    return max(1, min([*fits, n_chunks]))


def connect(ray, address: str | None) -> None:
    """Join the cluster at address/$RAY_ADDRESS, or start a local one for this command."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
    saved = os.environ.get("PYTHONPATH")
    if address is None:  # the local workers import this very builder package, installed or not
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), saved) if p)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 configure_logging=True, ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"Ray cluster at {address}" if address else "a local Ray cluster"
        hint = ("; a cluster with token authentication needs RAY_AUTH_MODE=token and its token here"
                if address and not os.environ.get("RAY_AUTH_MODE") else "")
        raise PsrError(f"cannot connect to {where}: {str(exc).splitlines()[0]}{hint}") from None
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _package_root() -> str:
    from pathlib import Path

    import builder

    return str(Path(builder.__file__).resolve().parent.parent)


def check_reachable(address: str) -> None:
    """A host:port the driver cannot open a TCP connection to is an error now, not a hang in ray.init."""
    if address == "auto" or address.startswith("local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address '{address}': expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise PsrError(f"Ray cluster at {address} is unreachable ({exc.strerror or exc})") from None
