"""The next real batches, drawn in a background thread while the current step runs, so that a GPU never waits
for decoding, augmentation or the copy to pinned memory (the native kernels release the GIL).

Batches come from the run's numpy generator in the very order a synchronous loader would draw them. The thread
runs ahead, so before a checkpoint reads the generator's state (or a rollback restores one) the loader is paused:
it rewinds the generator to the state before the first batch not yet handed out and drops what it drew ahead. A
resumed run therefore continues with exactly the batches the uninterrupted one saw.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

DEPTH = 2  # batches drawn ahead


class Prefetcher:
    def __init__(self, draw: Callable[[], torch.Tensor], rng: np.random.Generator, depth: int = DEPTH) -> None:
        self.draw, self.rng, self.depth = draw, rng, depth
        self._queue: queue.Queue[tuple[torch.Tensor | None, BaseException | None]] = queue.Queue(depth)
        self._states: list[dict[str, Any]] = []  # the generator's state before each batch drawn, not handed out
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self) -> torch.Tensor:
        """The next batch."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gancli-loader", daemon=True)
            self._thread.start()
        batch, error = self._queue.get()
        with self._lock:
            self._states.pop(0)
        if error is not None:
            self.pause()
            raise error
        assert batch is not None
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._states.append(copy.deepcopy(self.rng.bit_generator.state))
            try:
                item: tuple[torch.Tensor | None, BaseException | None] = (self.draw(), None)
            except BaseException as exc:  # handed to the training thread, which raises it
                item = (None, exc)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.05)
                    break
                except queue.Full:
                    continue
            if item[1] is not None:
                return

    def pause(self) -> None:
        """Stop drawing ahead and rewind the generator to the first batch not handed out."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._stop.clear()
        while not self._queue.empty():
            self._queue.get_nowait()
        with self._lock:
            if self._states:
                self.rng.bit_generator.state = self._states[0]
            self._states.clear()
