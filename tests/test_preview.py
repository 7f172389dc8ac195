"""storybot preview: what the reader makes of a page, printed; nothing stored, nothing written.

The CLI is called through `main([...])` as a user runs it, in a temporary working directory
with no config file, against a local file and a real loopback HTTP origin. The renderer is
also tested alone, on a hand-built `Story`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.__main__ import main
from bot.models import Section, SectionKind, Story
from bot.preview import Preview, json_text, render_text, to_json
from tests.origin import Origin

ARTICLE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Dam Breach Floods River Towns | Valley Gazette</title></head>
<body>
  <header><nav><ul>
    <li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sports">Sports</a></li>
  </ul></nav></header>
  <main><article>
    <h1>Dam Breach Floods River Towns</h1>
    <p>By Jane Reporter</p>
    <p>Posted Nov 9, 2022 10:00 AM CST</p>
    <p><strong>UPDATE Nov 11, 2022 7:36 AM CST</strong></p>
    <p>Officials now say the water has crested in every town downstream and that the evacuation
    order will be lifted on Saturday morning.</p>
    <p><strong>Nov 9, 2022 10:00 AM CST</strong></p>
    <p>A dam upstream of the river towns gave way early Wednesday, sending water into the streets
    of three towns and forcing hundreds of residents from their homes.</p>
    <p>Share on Facebook</p>
    <p>Crews worked through the night to shore up the levees, the county said in a statement
    released before dawn.</p>
  </article></main>
</body>
</html>
"""
TITLE = "Dam Breach Floods River Towns"
UPDATE_HEADER = "UPDATE Nov 11, 2022 7:36 AM CST"
ORIGINAL_HEADER = "Nov 9, 2022 10:00 AM CST"
FURNITURE = "Share on Facebook"
NO_ARTICLE = "<!doctype html><html><head><title>Nothing Here</title></head><body><div></div></body></html>"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, with no config file in it, as the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def sections_of(out: str) -> list[dict[str, str]]:
    """The printed sections: their `[n] kind` line's kind, then their indented fields."""
    found: list[dict[str, str]] = []
    for line in out.splitlines():
        if line.startswith("[") and "] " in line:
            found.append({"kind": line.split("] ", 1)[1]})
        elif found and line.startswith(("    header:", "    timestamp:", "    paragraphs:")):
            key, value = line.strip().split(":", 1)
            found[-1][key] = value.strip()
    return found


def field_of(out: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith(f"{name}:"))


def assert_article_text(out: str) -> None:
    assert field_of(out, "title") == TITLE
    assert "Jane Reporter" in field_of(out, "byline")
    assert field_of(out, "posted") == "Nov 9, 2022 10:00 AM CST (America/Chicago)"
    sections = sections_of(out)
    assert [(s["kind"], s["header"], s["timestamp"]) for s in sections] == [
        ("update", UPDATE_HEADER, "Nov 11, 2022 7:36 AM CST (America/Chicago)"),
        ("original", ORIGINAL_HEADER, "Nov 9, 2022 10:00 AM CST (America/Chicago)"),
    ]
    assert [s["paragraphs"] for s in sections] == ["1", "2"]
    body, _, dropped = out.partition("dropped as furniture:")
    assert f"  - {FURNITURE}" in dropped.splitlines()
    assert FURNITURE not in body


# --- a local file ------------------------------------------------------------------------


def test_preview_of_a_local_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "article.html").write_text(ARTICLE, encoding="utf-8")
    before = tree(workdir)
    assert main(["preview", "article.html", "--full"]) == 0
    out = capsys.readouterr().out
    assert_article_text(out)
    assert "released before dawn." in out  # --full: whole bodies
    assert tree(workdir) == before  # no database, no cache, nothing written


def test_preview_shows_first_words_without_full(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "article.html").write_text(ARTICLE, encoding="utf-8")
    assert main(["preview", str(workdir / "article.html")]) == 0
    out = capsys.readouterr().out
    assert_article_text(out)
    assert "    A dam upstream of the river towns gave way early Wednesday" in out
    assert "released before dawn." not in out and "…" in out


def test_json_round_trips(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "article.html").write_text(ARTICLE, encoding="utf-8")
    assert main(["preview", "--json", "article.html"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["title"] == TITLE and "Jane Reporter" in data["byline"]
    assert data["posted"] == "2022-11-09T10:00:00-06:00"
    assert [(s["kind"], s["label"], s["header"], s["timestamp"]) for s in data["sections"]] == [
        ("update", "Update", UPDATE_HEADER, "2022-11-11T07:36:00-06:00"),
        ("original", "Original", ORIGINAL_HEADER, "2022-11-09T10:00:00-06:00"),
    ]
    assert data["sections"][1]["paragraphs"][-1].endswith("released before dawn.")
    assert FURNITURE in data["dropped"]
    assert not any(FURNITURE in p for s in data["sections"] for p in s["paragraphs"])
    assert data["problems"] == []
    assert set(data) >= {"subtitle", "updated"}


def test_an_empty_file_exits_1_with_the_problem(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "empty.html").write_bytes(b"")
    assert main(["preview", "empty.html"]) == 1
    out = capsys.readouterr().out
    assert "0 sections" in out and "problems:\n  - empty document" in out


def test_a_missing_file_exits_2_in_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "nope.html"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("storybot: fetch failed: cannot read ") and "nope.html" in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


# --- over real loopback HTTP -------------------------------------------------------------


async def preview(*args: str) -> int:
    """`main` in a worker thread (it runs its own event loop) while this loop serves the origin."""
    return await asyncio.to_thread(main, ["preview", *args])


async def test_preview_of_a_served_page(
    origin: Origin, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin.set("/story", body=ARTICLE)
    assert await preview("--allow-private", origin.url("/story")) == 0
    assert_article_text(capsys.readouterr().out)
    assert await preview("--json", "--allow-private", origin.url("/story")) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["kind"] for s in data["sections"]] == ["update", "original"]
    assert FURNITURE in data["dropped"]
    assert [r.method for r in origin.requests_for("/story")] == ["GET", "GET"]
    assert tree(workdir) == {}


async def test_a_404_exits_2_with_a_message_and_no_traceback(
    origin: Origin, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await preview("--allow-private", origin.url("/gone")) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "storybot: fetch failed: HTTP 404 from 127.0.0.1\n"
    assert len(origin.requests_for("/gone")) == 1  # a 404 is not retried
    assert tree(workdir) == {}


async def test_a_page_without_an_article_exits_1_with_the_problem(
    origin: Origin, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin.set("/empty", body=NO_ARTICLE)
    assert await preview("--allow-private", origin.url("/empty")) == 1
    out = capsys.readouterr().out
    assert "0 sections" in out and "problems:\n  - no article text found" in out
    assert await preview("--json", "--allow-private", origin.url("/empty")) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["sections"] == [] and data["problems"] == ["no article text found"]


# --- rendering alone ---------------------------------------------------------------------

NY = ZoneInfo("America/New_York")


def story_preview() -> Preview:
    words = " ".join(f"word{n}" for n in range(40))
    story = Story(
        title="Storm \x1b[31mWarning",
        byline="Sam Writer",
        posted=datetime(2022, 11, 9, 10, 0, tzinfo=NY),
        sections=(
            Section(
                SectionKind.UPDATE,
                "Correction: Nov 11",
                datetime(2022, 11, 11, 7, 36, tzinfo=NY),
                ("Fixed.",),
            ),
            Section(SectionKind.ORIGINAL, "", None, (words, "Second paragraph.")),
        ),
    )
    return Preview("page.html", story, ("Share on Facebook", "x " * 100))


def test_render_text_alone() -> None:
    out = render_text(story_preview())
    assert "title:     Storm \\x1b[31mWarning" in out  # a page's escape codes never reach the terminal
    assert "subtitle:  (none)" in out and "updated:   (none)" in out
    assert "posted:    Nov 9, 2022 10:00 AM EST (America/New_York)" in out
    assert sections_of(out) == [
        {
            "kind": "update (Correction)",
            "header": "Correction: Nov 11",
            "timestamp": "Nov 11, 2022 7:36 AM EST (America/New_York)",
            "paragraphs": "1",
        },
        {"kind": "original", "header": "(none)", "timestamp": "(none)", "paragraphs": "2"},
    ]
    assert "    word0 word1" in out and "word29…" in out and "word30" not in out
    assert "dropped as furniture: 2\n  - Share on Facebook\n  - x x" in out
    assert len(out.splitlines()[-1]) < 130  # a long dropped block is clipped
    full = render_text(story_preview(), full=True)
    assert "word39" in full and "    Second paragraph." in full


def test_json_alone() -> None:
    data = json.loads(json_text(story_preview()))
    assert data == to_json(story_preview())
    assert data["title"] == "Storm \x1b[31mWarning" and data["updated"] is None
    assert data["sections"][0]["timestamp"] == "2022-11-11T07:36:00-05:00"
    assert data["sections"][1]["timestamp"] is None
    assert data["sections"][0]["label"] == "Correction"
    assert data["dropped"][0] == "Share on Facebook"


def test_a_reader_that_stops_early_gets_no_traceback(workdir: Path) -> None:
    """`storybot preview ... | head`: more output than a pipe holds, and the reader leaves."""
    paragraphs = "".join(
        f"<p>Paragraph {n} of the flood story. {'More words here. ' * 30}</p>" for n in range(300)
    )
    (workdir / "long.html").write_text(
        ARTICLE.replace("<p>Share on Facebook</p>", paragraphs), encoding="utf-8"
    )
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", "--full", "long.html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as run:
        assert run.stdout is not None and run.stderr is not None
        assert run.stdout.readline().startswith(b"source:")
        run.stdout.close()  # the reader leaves with most of the output unread
        err = run.stderr.read()
        assert run.wait(timeout=60) == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err
