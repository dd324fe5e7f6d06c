"""benchmarks.scale writes its section into docs/benchmarks.md without touching the rest, and a regeneration of
the whole doc by benchmarks.run carries that section over."""

from __future__ import annotations

from pathlib import Path

from benchmarks.doc_blocks import keep_section
from benchmarks.scale import HEADING, write

DOC = "# Benchmarks\n\nIntro.\n\n## Targets\n\n| a | b |\n\n## Reproduce\n\n```bash\nrun\n```\n"


def test_the_section_is_added_before_reproduce_and_then_only_its_block_changes(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)
    write(doc, "first run")
    text = doc.read_text()
    head, tail = text.split(HEADING)
    assert head == DOC.split("## Reproduce", maxsplit=1)[0]
    assert tail.endswith("## Reproduce\n\n```bash\nrun\n```\n")
    assert "<!-- scale:begin -->\nfirst run\n<!-- scale:end -->" in tail
    write(doc, "second run")
    assert doc.read_text() == text.replace("first run", "second run")


def test_a_doc_without_reproduce_gets_the_section_at_its_end(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nOnly this.\n")
    write(doc, "numbers")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nOnly this.\n\n" + HEADING)
    assert text.rstrip().endswith("numbers\n<!-- scale:end -->")


def test_a_regenerated_doc_keeps_the_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)
    write(doc, "measured")
    section = HEADING + doc.read_text().split(HEADING)[1].split("\n\n## Reproduce")[0]
    regenerated = DOC.replace("Intro.", "New intro.")
    kept = keep_section(doc, regenerated, "scale")
    assert kept == regenerated.replace("## Reproduce", section + "\n\n## Reproduce")
    assert keep_section(tmp_path / "missing.md", regenerated, "scale") == regenerated
    assert keep_section(doc, kept, "scale") == kept  # already there: not twice
