"""``--tensorboard``: what a run logs, also as TensorBoard scalars, images and text under RUN/tensorboard/.

The same values as RUN/metrics.jsonl (``train/NAME``), RUN/eval.jsonl (``eval/NAME``) and RUN/diagnostics.jsonl
(text), and the sample images of RUN/samples/ as they were written. A resumed or rolled-back run purges what
TensorBoard holds after the step it goes on from, as the run directory's logs are rewound.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from gancli.diagnostics.base import Finding
from gancli.train.rundir import RunDir


class Board:
    def __init__(self, run: RunDir, step: int) -> None:
        self.run = run
        self.writer: Any = None
        self.rewind(step)

    def rewind(self, step: int) -> None:
        """Write on from ``step``: events of later steps, from before a resume or a rollback, are purged."""
        from torch.utils.tensorboard import SummaryWriter

        self.close()
        self.writer = SummaryWriter(log_dir=str(self.run.tensorboard), purge_step=step + 1 if step else None)

    def scalars(self, prefix: str, step: int, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if name != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def image(self, step: int, png: bytes) -> None:
        from PIL import Image

        with Image.open(io.BytesIO(png)) as picture:
            pixels = np.asarray(picture.convert("RGB"))
        self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def finding(self, finding: Finding) -> None:
        self.writer.add_text(f"diagnostics/{finding.name}", finding.line(), finding.step)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
