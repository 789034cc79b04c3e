"""Execute every page of the book once, two pages at a time, into a jupyter-cache that the
book build then reads instead of executing the pages again.

This is how the test suite keeps its promise of executing every notebook without paying for
it twice: MyST-NB's ``cache`` mode looks each page up in the cache by the hash of its code
and reuses the stored outputs. The pages are read with MyST-NB's own reader and cached the
way MyST-NB caches them itself (``myst_nb.core.execute.cache``), so the hashes match.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import pathlib
import time

#: Seconds one cell may run, as in ``_config.yml``.
CELL_TIMEOUT = 600

#: Where the test of the book writes each page's execution time; printed at the end of the
#: test run (``conftest.py``), so that CI's log says where the time goes.
TIMINGS = pathlib.Path(__file__).resolve().parents[1] / "_build" / "test-timings.txt"


@dataclasses.dataclass
class PageRun:
    page: pathlib.Path
    seconds: float
    error: str | None  # the traceback when a cell raised, else None


def _read(page: pathlib.Path):
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(page.read_text("utf8"), add_source_map=True, path=str(page))


def _execute(page: str, static_env: dict) -> tuple[dict, float, str | None]:
    """Run in a worker process: execute one page in a fresh kernel, in the page's folder."""
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ.update(static_env)  # inherited by the kernel
    notebook = _read(pathlib.Path(page))
    result = single_nb_execution(notebook, cwd=str(pathlib.Path(page).parent),
                                 timeout=CELL_TIMEOUT, allow_errors=False, meta_override=True)
    return notebook, result.time, (result.exc_string if result.err is not None else None)


def execute_pages(pages: list[pathlib.Path], cache_dir: pathlib.Path, env: dict,
                  workers: int = 2) -> list[PageRun]:
    """Execute ``pages`` with ``workers`` kernels at a time; cache the ones that succeed."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_dir))
    # longest first (by size of code as a proxy), so that the two workers finish together
    order = sorted(pages, key=lambda p: -p.stat().st_size)
    runs = []
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(_execute, str(p), env): p for p in order}
        for future in concurrent.futures.as_completed(futures):
            page = futures[future]
            start = time.perf_counter()
            try:
                notebook, seconds, error = future.result()
            except Exception as err:  # noqa: BLE001 - the worker itself failed
                notebook, seconds, error = None, time.perf_counter() - start, repr(err)
            if error is None:
                cache.cache_notebook_bundle(
                    CacheBundleIn(notebook, str(page), data={"execution_seconds": seconds}),
                    check_validity=False, overwrite=True)
            runs.append(PageRun(page, seconds, error))
    return runs
