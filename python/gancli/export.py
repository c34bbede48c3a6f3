"""``gancli export``: a run's generator as a file other programs load without gancli, and a note on using it.

The generator exported is the one ``gancli sample`` draws from (``Session.sampler``: the moving average where
the run kept one, its BatchNorm statistics measured), in eval mode, so the same noise gives the same samples in
both: TorchScript (``torch.jit.load``) or ONNX (onnxruntime and every other ONNX runtime), chosen by the file's
suffix, with the batch size left free. A conditional run's generator takes the class indices as a second input,
``labels``, as ``G(z, labels)`` does in gancli.
"""

from __future__ import annotations

import importlib
import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from gancli import __version__
from gancli.errors import GancliError
from gancli.train.checkpoint import classes_text

if TYPE_CHECKING:
    from gancli.train.session import Session

#: the file suffixes ``export`` writes, and the format each means
FORMATS = {".pt": "TorchScript", ".onnx": "ONNX"}
#: samples drawn to measure the output range the note gives
NOTE_SAMPLES = 1000
#: the exported generator's inputs, by name: the noise, and a conditional run's class indices
INPUTS = ("z", "labels")


def export_format(path: Path) -> str:
    """The format ``path``'s suffix asks for; any other suffix is refused naming the path."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        choices = ", ".join(f"{s} ({f})" for s, f in FORMATS.items())
        raise GancliError(f"-o {path}: the export's format is chosen by the file's suffix: {choices}")
    return suffix


def exported_generator(session: Session, suffix: str) -> bytes:
    """The sampling generator as the bytes of a ``suffix`` file: inputs ``z`` (batch, latent) and, for a
    conditional run, ``labels`` (batch,); output ``x``."""
    model = session.sampler.eval()
    z = torch.randn(4, session.config.latent_dim, generator=torch.Generator().manual_seed(0))
    inputs = (z, *session.class_inputs(len(z)))
    buffer = io.BytesIO()
    if suffix == ".pt":
        with warnings.catch_warnings():  # torch calls TorchScript deprecated; it is still what C++ and mobile load
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.save(torch.jit.trace(model, inputs), buffer)
        return buffer.getvalue()
    for needed in ("onnx", "onnxscript"):  # what torch's exporter imports
        try:
            importlib.import_module(needed)
        except ImportError:
            raise GancliError(f"an ONNX export needs the {needed} package: pip install 'gancli[onnx]'") from None
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():  # z and labels share the one batch axis, which torch warns it names once
        warnings.filterwarnings("ignore", "# The axis name: batch will not be used", UserWarning)
        program = torch.onnx.export(
            model,
            inputs,
            input_names=list(INPUTS[: len(inputs)]),
            output_names=["x"],
            dynamic_shapes=tuple({0: batch} for _ in inputs),
            dynamo=True,
            verbose=False,
        )
    return program.model_proto.SerializeToString()


def usage_note(session: Session, run: Path, output: Path, suffix: str) -> str:
    """One page on what the export is and how to use it: input, class count, output layout and range, how to
    load it, and how to draw the noise of ``gancli sample --seed S``."""
    config, shape = session.config, tuple(session.data.shape)
    samples = session.generate(NOTE_SAMPLES, 0)
    low, high = float(samples.min()), float(samples.max())
    averaged = f"moving average of G's weights (--ema {config.ema})" if config.ema > 0 else "G's trained weights"
    if session.data.is_image:
        layout = (
            f"(batch, {', '.join(map(str, shape))}): images, channels first (NCHW), "
            f"{'gray' if shape[0] == 1 else 'RGB'}, in [-1, 1] as the data was scaled\n"
            "          to 8-bit pixels: ((x + 1) * 127.5).round().clip(0, 255), then move channels last (NHWC)"
        )
    else:
        layout = f"(batch, {', '.join(map(str, shape))}): points in the data's own coordinates"
    name, latent, classes = output.name, config.latent_dim, session.classes
    if classes is None:
        given = "none: the generator is unconditional (z is its only input)"
        torch_args = numpy_args = asked = ""
    else:
        count = len(classes)
        given = f"{classes_text(classes)}; labels: int64 (batch,), each sample's class index, 0 … {count - 1}"
        torch_args = f", torch.arange(16) % {count}"
        numpy_args = f', "labels": np.arange(16, dtype=np.int64) % {count}'
        asked = f"\nand its classes, sample i asking for class i mod {count}\n    labels = torch.arange(n) % {count}"
    if suffix == ".pt":
        load = f'import torch\ng = torch.jit.load("{name}")\nx = g(torch.randn(16, {latent}){torch_args})'
    else:
        load = (
            f'import numpy as np, onnxruntime\ng = onnxruntime.InferenceSession("{name}")\n'
            f'x = g.run(["x"], {{"z": np.random.randn(16, {latent}).astype(np.float32){numpy_args}}})[0]'
        )
    indented = "\n".join("    " + line for line in load.splitlines())
    return f"""{name}: the generator of {run} at step {session.step}, exported by gancli {__version__}

format    {FORMATS[suffix]} ({suffix}); no gancli needed to load it
weights   {averaged}, in eval mode (BatchNorm uses its stored statistics)
network   architecture {config.arch}, trained on {config.data} with loss {config.loss}
input     z: float32 (batch, {latent}), standard normal noise; any batch size
classes   {given}
output    x: float32 {layout}
          seen on {NOTE_SAMPLES:,} samples: [{low:.4g}, {high:.4g}]

load it
{indented}

the samples of `gancli sample {run} --seed S`: the noise
    z = torch.randn(n, {latent}, generator=torch.Generator().manual_seed(S)){asked}
"""
