"""The HTML report is self-contained and its figures render, checked in a real headless Chromium."""

import json
import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
# After load, the page's title says whether every figure decoded: naturalWidth is 0 for a broken image.
CHECK = """<script>window.addEventListener('load', () => {
  const images = [...document.images];
  const ok = images.length > 0 && images.every(i => i.complete && i.naturalWidth > 0);
  document.title = (ok ? 'FIGURES-OK ' : 'FIGURES-BROKEN ') + images.length;
});</script>"""


def chromium(tmp_path, *arguments) -> str:
    if CHROMIUM is None:  # .ci/run installs it; a developer machine without it says so
        pytest.fail("chromium is not installed (apt-get install -y chromium); this test is not optional")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def test_html_report_is_self_contained_and_every_figure_renders(tiny_study, tmp_path):
    html = (tiny_study.out / "report.html").read_text()
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", html), "the report fetches something"
    assert html.count("data:image/png;base64,") == 5  # tradeoffs ×2, curves, gradients, step costs
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", CHECK + "</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert "<title>FIGURES-OK 5</title>" in dom
    screenshot = tmp_path / "report.png"
    chromium(tmp_path, "--window-size=1280,2000", f"--screenshot={screenshot}", page.as_uri())
    assert screenshot.stat().st_size > 10_000


def test_markdown_and_json_carry_the_same_verdicts(tiny_study):
    results = json.loads((tiny_study.out / "results.json").read_text())
    markdown = (tiny_study.out / "report.md").read_text()
    verdicts = {c["name"]: c["verdict"] for c in results["claims"]}
    assert verdicts == {"gru_beats_rnn": verdicts["gru_beats_rnn"], "rnn_is_smaller": "refuted"}
    for claim in results["claims"]:
        assert f"| {claim['text']} | {claim['verdict'].upper()} |" in markdown
    for figure in ("params", "seconds", "curves", "gradients", "costs"):
        assert (tiny_study.out / "figures" / f"{figure}.png").stat().st_size > 1000
