"""``gancli report``: one self-contained HTML page, opened in a real headless browser (Chromium), whose images
render there; the test is skipped, saying why, only where no Chromium is installed."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import ok
from PIL import Image

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
#: appended to a copy of the report: once the page has loaded, the body says how many of its images decoded
PROBE = """<script>window.addEventListener("load", () => {
  const images = [...document.images];
  const drawn = images.filter(image => image.complete && image.naturalWidth > 0 && image.naturalHeight > 0);
  document.body.setAttribute("data-rendered", drawn.length + "/" + images.length);
});</script>"""


def browser() -> list[str]:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip(f"no Chromium to open the report in (looked for {', '.join(BROWSERS)} on PATH)")
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root with its sandbox on
    return [found, "--headless", "--disable-gpu", *sandbox, "--virtual-time-budget=5000"]


def test_a_report_renders_in_a_browser_with_every_image(gancli, tiny_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    finding = (
        '{"step": 1, "diagnostic": "divergence", "message": "D\'s loss <rose>", "hint": "lower --lr", "values": {}}'
    )
    (run / "diagnostics.jsonl").write_text(finding + "\n")
    ok(gancli("report", "run", "-o", "report.html"))
    page = (tmp_path / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)  # plot, 2 samples
    assert "<script" not in page and "http://" not in page and "https://" not in page  # nothing fetched
    assert "recommended by dataset ring8" in page and "set for this run" in page  # where the settings came from
    assert "D&#x27;s loss &lt;rose&gt;" in page and "step 2" in page and "mode_kl" in page
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    command = browser()
    dom = subprocess.run([*command, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'data-rendered="3/3"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*command, f"--screenshot={shot}", "--window-size=1400,1800", (tmp_path / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(io.BytesIO(shot.read_bytes())) as screenshot:
        pixels = screenshot.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        inked = sum(count for count, colour in colours if colour != (255, 255, 255))
        assert pixels.size == (1400, 1800)
        assert len(colours) > 100 and inked > 0.05 * 1400 * 1800, (len(colours), inked)  # plots drawn, not blank
