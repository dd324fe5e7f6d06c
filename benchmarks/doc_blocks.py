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
