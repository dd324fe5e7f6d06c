"""Write a run's results into a marked block of a doc (``<!-- NAME:begin -->`` ... ``<!-- NAME:end -->``), so a
long run updates the figures it owns and leaves the prose around them alone."""

from __future__ import annotations

import time
from pathlib import Path


def replace_block(doc: Path, name: str, body: str) -> bool:
    """Replace the block's content with ``body``; False (nothing written) when the doc or its markers are missing."""
    if not doc.is_file():
        return False
    text = doc.read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{body.rstrip()}\n{end}{tail}")
    return True


def last_run(command: str, summary: str) -> str:
    """The usual body: the command, the date and the run's summary as text."""
    return "\n".join([f"Last long run: `{command}` on {time.strftime('%Y-%m-%d')}:", "", "```text", summary, "```"])


def section_of(text: str, name: str) -> str | None:
    """The ``## `` section holding the block ``name`` (its heading through the block's end marker), or None."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return None
    start = text.rfind("\n## ", 0, text.index(begin)) + 1  # 0 when the block has no heading above it
    return text[start : text.index(end) + len(end)]


def add_section(text: str, section: str, before: str = "## Reproduce") -> str:
    """``text`` with ``section`` inserted before the heading ``before`` (at the end when there is none)."""
    at = text.find(f"\n{before}\n")
    if at < 0:
        return f"{text.rstrip()}\n\n{section.strip()}\n"
    return f"{text[: at + 1]}{section.strip()}\n\n{text[at + 1 :]}"


def keep_section(doc: Path, new_text: str, name: str) -> str:
    """``new_text`` (a regenerated ``doc``) with the section of block ``name`` carried over from the current ``doc``,
    so that one script rewriting the whole doc keeps the figures another script wrote into it."""
    old = section_of(doc.read_text(), name) if doc.is_file() else None
    if old is None or section_of(new_text, name) is not None:
        return new_text
    return add_section(new_text, old)
