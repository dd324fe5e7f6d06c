"""Terminal output: rich (colour, boxes, progress bars) when the stream is a terminal, plain text otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console(stream: TextIO | None = None) -> Any:
    """A rich Console on a terminal (it honours NO_COLOR), or None for plain output (pipes, files, CI)."""
    stream = stream or sys.stdout
    if not is_terminal(stream):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, highlight=False)


def say(text: str = "", *, style: str | None = None, stream: TextIO | None = None) -> None:
    """One line; ``style`` (rich markup style such as ``bold green``) applies only on a terminal."""
    stream = stream or sys.stdout
    out = console(stream)
    if out is None:
        print(text, file=stream, flush=True)
    else:
        from rich.text import Text

        out.print(Text(text, style=style or ""))


def heading(text: str, stream: TextIO | None = None) -> None:
    say("")
    say(text, style="bold cyan", stream=stream)


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, stream: TextIO | None = None
) -> None:
    stream = stream or sys.stdout
    out = console(stream)
    if out is not None:
        from rich.table import Table

        table = Table(title=title or None, title_justify="left")
        for col in columns:
            table.add_column(str(col))
        for row in rows:
            table.add_row(*(str(v) for v in row))
        out.print(table)
        return
    if title:
        print(title, file=stream)
    cells = [[str(v) for v in row] for row in rows]
    widths = [max([len(str(c)), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=stream)
    print("  ".join("-" * w for w in widths), file=stream)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=stream)
    stream.flush()


class Progress:
    """A progress bar on a terminal (stderr), nothing otherwise. ``update(what, done, total)``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def start(self) -> Progress:
        if is_terminal(self.stream):
            try:
                from rich.console import Console
                from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
                from rich.progress import Progress as RichProgress
            except ImportError:
                return self
            self._progress = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._progress.start()
        return self

    def update(self, what: str, done: int, total: int | None) -> None:
        if self._progress is None:
            return
        task = self._tasks.get(what)
        if task is None:
            task = self._tasks[what] = self._progress.add_task(what, total=total)
        self._progress.update(task, completed=done, total=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


@contextmanager
def progress(stream: TextIO | None = None) -> Iterator[Progress]:
    bar = Progress(stream).start()
    try:
        yield bar
    finally:
        bar.stop()
