"""Training on several processes: ``torchrun --nproc-per-node N -m gancli train …`` (or ``gancli train --nproc N``).

Data parallelism as DistributedDataParallel does it — every rank holds both players, sees its shard of each global
batch and steps with the gradients averaged over all ranks — but with the averaging done by the ``Game`` at the
points where gradients are applied rather than by DDP's module wrapper. A GAN step does not fit that wrapper: G's
step runs D forward and backward without updating D, and the joint update rules take gradients with
``torch.autograd.grad``, which never fires DDP's hooks. Every rank draws the same global batch from the same seeded
generators and keeps its slice, so the ranks see disjoint data (a distributed sampler) and the run equals the
single-process run on the same global batch, to float tolerance. Rank 0 alone writes files and shows progress.

When a process dies (killed, out of memory), the others' next collective fails: each says so in one line, and the
launcher (``supervise``: torchrun without its report of tracebacks) names the process that was killed. On several
machines the launcher also leaves that reason in the rendezvous store, where every process's watch finds it
(``tell_the_others``, ``watch_the_others``): gloo now and then misses a peer's death, and a collective would then
wait ``--collective-timeout``. A rank prints every thread's stack on SIGUSR1 (``kill -USR1 PID``), for a run that
seems stuck.
"""

from __future__ import annotations

import contextlib
import datetime
import faulthandler
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from gancli.errors import GancliError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: ``rank`` of ``world`` processes (a single process is rank 0 of 1)."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run's files and shows its progress."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world > 1

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a global batch (all of it on one process)."""
        if not self.is_distributed:
            return batch
        size = batch.shape[0] // self.world
        return batch[self.rank * size : (self.rank + 1) * size]

    @contextmanager
    def collective(self) -> Iterator[None]:
        """Around a collective operation, which fails when another process of the run has died: one line saying
        so, with the backend's reason (gloo's "Connection reset by peer"), instead of its report."""
        try:
            yield
        except RuntimeError as exc:
            raise GancliError(f"process {self.rank} of {self.world}: {lost_peer_reason(exc)}") from None

    def average(self, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The mean of each tensor over all ranks, in one collective (the tensors as they are on one process)."""
        if not self.is_distributed or not tensors:
            return list(tensors)
        flat = torch.cat([t.detach().reshape(-1) for t in tensors])
        with self.collective():
            dist.all_reduce(flat)
        flat /= self.world
        out, offset = [], 0
        for t in tensors:
            out.append(flat[offset : offset + t.numel()].view_as(t))
            offset += t.numel()
        return out

    def barrier(self) -> None:
        if self.is_distributed:
            with self.collective():
                dist.barrier()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds on any rank: how the ranks agree to stop, or that something diverged."""
        if not self.is_distributed:
            return flag
        value = torch.tensor([int(flag)])
        with self.collective():
            dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def from_main(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (a run directory's name rank 0 chose, say)."""
        if not self.is_distributed:
            return obj
        box = [obj]
        with self.collective():
            dist.broadcast_object_list(box, src=0)
        return box[0]

    def largest_gap(self, params: Sequence[torch.Tensor]) -> float:
        """The largest difference between this rank's ``params`` and rank 0's (0 when the ranks agree)."""
        if not self.is_distributed:
            return 0.0
        flat = torch.cat([p.detach().reshape(-1).float() for p in params])
        reference = flat.clone()
        with self.collective():
            dist.broadcast(reference, src=0)
            gap = (flat - reference).abs().max().reshape(1)
            dist.all_reduce(gap, op=dist.ReduceOp.MAX)
        return float(gap.item())


SINGLE = Ranks()


def lost_peer_reason(exc: RuntimeError) -> str:
    """What a failed collective says, in a line: gloo's "[/path/pair.cc:545] Read error …: Connection reset by
    peer. This is typically caused by …" becomes "another process of the run stopped (Read error …)"."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc).strip()).split("\n")[0].split(". ")[0]
    hint = "; --collective-timeout sets how long a process waits" if "timed out" in text.lower() else ""
    return f"another process of the run stopped or cannot be reached ({text or type(exc).__name__}){hint}"


#: the process group's backends by the device of its tensors: gloo on the CPU; on CUDA, nccl for the device's tensors
#: (gradients, penalties) and gloo for the host's (the ranks' per-step agreement to stop, a run's name, barriers):
#: nccl alone refuses a CPU tensor ("No backend type associated with device type cpu"), and would place a barrier on
#: GPU 0 for every rank
BACKENDS = {"cpu": "gloo", "cuda": "cpu:gloo,cuda:nccl"}


def join(device: torch.device, timeout: float) -> Ranks:
    """Join the process group torchrun describes in the environment (``BACKENDS``), whose collectives fail after
    ``timeout`` seconds without the others (``--collective-timeout``); one process when there is none. On CUDA
    each process first takes its node's GPU of its local rank as its current device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    ranks = Ranks(int(os.environ.get("RANK", "0")), world)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(local_device(device))
        with ranks.collective():
            backend = BACKENDS.get(device.type, "gloo")
            dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
    global _joined
    _joined = True
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    ranks = Ranks(dist.get_rank(), dist.get_world_size())
    if int(os.environ.get("GROUP_WORLD_SIZE", "1")) > 1:  # torchrun's count of machines
        watch_the_others(ranks, os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
    return ranks


#: the rendezvous store's key where a machine's launcher leaves why its processes stopped (``tell_the_others``)
STOPPED = "gancli/stopped"
#: seconds between a process's looks for that key
WATCH_EVERY = 1.0
#: seconds a process that found it leaves its own failed collective to end it first, with its own line
GRACE = 3.0


def watch_the_others(ranks: Ranks, host: str, port: int) -> None:
    """End this process, in one line, once another machine's launcher has left in the rendezvous store (node 0's,
    at ``host``:``port``) why its processes stopped. As a rule this process's next collective has failed at once,
    since the dead process's connections closed; but gloo now and then misses it (node 0 waited in the gradients'
    all-reduce in 1 of 47 two-machine runs on a loaded 2-core machine), and that collective would wait
    ``--collective-timeout``. A store that cannot be reached ended with node 0's launcher: nothing to watch."""

    def watch() -> None:
        try:
            store = dist.TCPStore(host, port, is_master=False, timeout=datetime.timedelta(seconds=30))
            while not store.check([STOPPED]):
                time.sleep(WATCH_EVERY)
            reason = store.get(STOPPED).decode(errors="replace")
        except (RuntimeError, ValueError, OSError):
            return
        time.sleep(GRACE)
        end_process(f"error: process {ranks.rank} of {ranks.world}: another process of the run stopped ({reason})")

    threading.Thread(target=watch, name="gancli-watch", daemon=True).start()


def tell_the_others(endpoint: str, reason: str) -> None:
    """Leave ``reason`` (why this machine's processes stopped) in the rendezvous store at ``endpoint`` for the
    other machines' processes (``watch_the_others``). A store that is gone is nobody's to tell: as a rule node 0's
    processes have already stopped on their own, and its launcher with them. A plain connection tries first,
    refused at once where nothing listens; torch's store client would retry for its whole timeout, printing each
    try to standard error in C++, which is silenced while it writes."""
    host, _, port = endpoint.rpartition(":")
    address = (host.strip("[]"), int(port))
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return
    with contextlib.suppress(RuntimeError, ValueError, OSError), stderr_silenced():
        store = dist.TCPStore(*address, is_master=False, timeout=datetime.timedelta(seconds=5))
        store.set(STOPPED, reason)


@contextmanager
def stderr_silenced() -> Iterator[None]:
    """Standard error, its file descriptor (C++ writes there too), pointed at /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_joined = False  # whether this process has been a rank of a run: it then ends through end_process


def is_rank() -> bool:
    """Whether this process is (or was) one process of a distributed run, which ends with the run."""
    return _joined


def end_process(status: int | str | None) -> None:
    """End a process that was a rank of a run at once, with ``status`` (``sys.exit``'s meaning), skipping the
    interpreter's finalization; returns when this process was never a rank.

    Once ``torch._dynamo`` is imported (torch.optim imports it), the gloo process group outlives
    ``destroy_process_group`` and its worker threads run on into finalization. A worker still letting go of a
    finished collective's tensor there takes the GIL from a dying interpreter, and the C++ runtime aborts: a run
    that finished (or failed cleanly) was reported killed by SIGABRT, "terminate called without an active
    exception", about once in a hundred two-process runs on a loaded 2-core machine. Every file a run writes is
    closed by then, so nothing is lost by leaving out finalization."""
    if not _joined:
        return
    if isinstance(status, str):
        print(status, file=sys.stderr)
    code = status if isinstance(status, int) else 0 if status is None else 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            stream.flush()
    os._exit(code)


def local_device(device: torch.device) -> torch.device:
    """On CUDA, each process of a node takes its own GPU (torchrun's LOCAL_RANK)."""
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


SUPERVISE = "import sys; from gancli.train.distributed import supervise; sys.exit(supervise(sys.argv[1:]))"


@dataclass(frozen=True)
class Nodes:
    """The machines of a run (``--nnodes``), this one's place among them (``--node-rank``) and where node 0
    listens for the others (``--rdzv-endpoint HOST:PORT``): torchrun's static rendezvous, in which node R's
    processes take the global ranks R·nproc … R·nproc + nproc − 1."""

    count: int = 1
    rank: int = 0
    endpoint: str | None = None

    @classmethod
    def of(cls, count: int | None, rank: int | None, endpoint: str | None) -> Nodes:
        """The checked flags: one line naming the flag when they do not describe a run."""
        count = 1 if count is None else count
        if count < 1:
            raise GancliError(f"--nnodes must be at least 1, got {count}")
        if count == 1:
            if rank not in (None, 0) or endpoint is not None:
                raise GancliError("--node-rank and --rdzv-endpoint describe a run on several machines: add --nnodes N")
            return cls()
        if rank is None or not 0 <= rank < count:
            raise GancliError(f"--nnodes {count} needs --node-rank between 0 and {count - 1} (this machine's place)")
        host, _, port = (endpoint or "").rpartition(":")
        if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            raise GancliError(
                f"--nnodes {count} needs --rdzv-endpoint HOST:PORT, where node 0 listens; got {endpoint!r}"
            )
        return cls(count, rank, endpoint)

    def torchrun_arguments(self) -> list[str]:
        if self.count == 1:
            return ["--standalone"]
        return [f"--nnodes={self.count}", f"--node-rank={self.rank}", f"--rdzv-endpoint={self.endpoint}"]


def launch(nproc: int, arguments: Sequence[str], nodes: Nodes = Nodes()) -> int:
    """``gancli train --nproc N ARGS``: ``torchrun --nproc-per-node N -m gancli train ARGS`` (through
    :func:`supervise`), on this machine alone or as node ``nodes.rank`` of several; returns its status. Ctrl-C
    reaches every process, so this one waits while they save."""
    if nproc < 1:
        raise GancliError(f"--nproc must be at least 1, got {nproc}")
    command = [sys.executable, "-c", SUPERVISE, *nodes.torchrun_arguments(), f"--nproc-per-node={nproc}"]
    if nodes.count > 1:  # torchrun waits for the others in silence
        print(f"node {nodes.rank} of {nodes.count}: meeting the others at {nodes.endpoint}", file=sys.stderr)
    with subprocess.Popen([*command, "-m", "gancli", "train", *arguments]) as process:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue


def supervise(argv: Sequence[str]) -> int:
    """torchrun (``torch.distributed.run``) with its own report of a failure — a page of tracebacks and tables —
    left out: each process reports its own error, and a process killed by a signal is named here in one line.
    Returns the exit status: the killed process's 128 + signal, else the first failed process's."""
    logging.disable(logging.CRITICAL)  # this process only runs torchrun: its log lines are the report's
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    args = parse_args(list(argv))
    try:
        run(args)
    except SignalException as exc:  # Ctrl-C or SIGTERM: the processes were told and report for themselves
        return 128 + int(exc.sigval)
    except ChildFailedError as exc:
        nodes = int(args.nnodes) if str(args.nnodes).isdigit() else 1
        world = nodes * int(args.nproc_per_node)
        killed = {
            rank: failure
            for rank, failure in exc.failures.items()
            if failure.exitcode < 0 and -failure.exitcode != signal.SIGTERM  # SIGTERM: torchrun's own, to the rest
        }
        if killed:
            rank, failure = min(killed.items(), key=lambda item: item[1].timestamp)
            reason = f"process {rank} of {world} was killed by {failure.signal_name()}"
            print(f"error: {reason}; the others stopped", file=sys.stderr)
            status = 128 - failure.exitcode
        else:
            rank, first = exc.get_first_failure()
            reason = f"process {rank} of {world} stopped with status {first.exitcode}"
            status = first.exitcode if first.exitcode > 0 else 1
        if nodes > 1:
            tell_the_others(args.rdzv_endpoint, reason)
        return status
    return 0
