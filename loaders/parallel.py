"""Row preparation on every core (issue 22): cell cleaning, normalisation, identifier checks and validation are
pure and per row, so chunks of rows are prepared by worker processes while this process reads the file and
writes the previous chunk to the database.

- The reader stays one stream in this process; chunks go out in order and their results come back in order, so
  row numbers, rejects and the batch's in-order recency rules are exactly those of a load in one process.
- Up to ``workers + 1`` chunks are in flight, so preparing the next chunks overlaps the store's writes of the
  current one.
- Workers are forked from this process and inherit its :class:`~loaders.pipeline.RowPreparer` (nothing is
  pickled on the way out but the rows). They touch no database: the preparer's code lists are read into memory
  before the fork (:meth:`mdm.codelists.DatabaseCodeLists.preload`), and the one lookup that needs the store
  (held legacy USCCs, once per chunk) is made here, after the workers' part.
- A file of one chunk or less is prepared here: forking costs more than it saves on a small delta.
- A worker that dies (killed, out of memory) fails the load with ``load.worker_failed``; the batch's transaction
  is rolled back, so nothing is stored, and the batch is recorded as failed. A rerun starts afresh.

The pool size is ``MDM_LOAD_WORKERS`` (0: the usable CPUs, at most 8; 1: in this process). It serves ``mdm
load`` and ``mdm demo``; a load posted to the API is prepared in the serving worker process itself, because forking
a process that runs threads (the server's, the audit writer's) can leave a child holding a lock no thread will
release — the API spreads its loads over its worker processes instead.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from loaders.rows import RAW_GEOMETRY
from mdm.errors import MdmError

if TYPE_CHECKING:
    from loaders.pipeline import RowPreparer
    from loaders.rows import SourceRow

MAX_WORKERS = 8
_PREPARER: RowPreparer | None = None  # a worker's inherited preparer (set by its initializer)


def default_workers() -> int:
    """The usable CPUs of this process, at most :data:`MAX_WORKERS`."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, usable))


def _install(preparer: RowPreparer) -> None:
    global _PREPARER
    _PREPARER = preparer


def _check(rows: list[SourceRow]) -> list[Any]:
    """The worker's part of a chunk: each row checked, sent back without the row and its context (the parent
    holds the row and makes a fresh context), only a converted geometry's raw form with it — half the bytes to
    pickle and unpickle, and the parent's unpickling is on the load's critical path."""
    assert _PREPARER is not None, "the worker was started without its preparer"
    out = []
    for row in rows:
        c = _PREPARER.check(row)
        parts = (c.data, c.errors, c.warnings, c.validated, c.legacy, c.source_system_id)
        out.append((*parts, row.cells.get(RAW_GEOMETRY)))
    return out


def prepared_chunks(
    preparer: RowPreparer, chunks: Iterable[list[SourceRow]], *, workers: int
) -> Iterator[tuple[list[SourceRow], list[Any]]]:
    """``(chunk, results)`` for each chunk in order, ``results`` being :meth:`RowPreparer.settle` of the chunk
    (its rows prepared by the pool when there are ``workers`` > 1 and more than one chunk)."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in chunks:  # one chunk read, prepared and written at a time, as before
            yield chunk, preparer.prepare_chunk(chunk)
        return
    stream = iter(chunks)
    first = next(stream, None)
    if first is None:
        return
    second = next(stream, None)
    if second is None:
        yield first, preparer.prepare_chunk(first)
        return
    preload = getattr(preparer.code_lists, "preload", None)
    if preload is not None:
        preload()  # every list in memory: a forked worker must never use this process's connections
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_install,
        initargs=(preparer,),
    )
    in_flight: deque[tuple[list[SourceRow], Future[list[Any]]]] = deque()
    try:
        for chunk in _chain(first, second, stream):
            in_flight.append((chunk, pool.submit(_check, chunk)))
            if len(in_flight) > workers:
                yield _settled(preparer, *in_flight.popleft())
        while in_flight:
            yield _settled(preparer, *in_flight.popleft())
    except BrokenProcessPool as exc:
        raise MdmError(  # a server fault: HTTP 500, exit 1
            "load.worker_failed",
            "a row-preparation worker process died during the load (killed, or out of memory); nothing was stored",
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chain(
    first: list[SourceRow], second: list[SourceRow], rest: Iterator[list[SourceRow]]
) -> Iterator[list[SourceRow]]:
    yield first
    yield second
    yield from rest


def _settled(
    preparer: RowPreparer, chunk: list[SourceRow], future: Future[list[Any]]
) -> tuple[list[SourceRow], list[Any]]:
    checked = []
    for row, (*parts, raw_geometry) in zip(chunk, future.result(), strict=True):
        if raw_geometry is not None:
            row.cells[RAW_GEOMETRY] = raw_geometry
        checked.append(preparer.restore(row, *parts))
    return chunk, preparer.settle(checked)
