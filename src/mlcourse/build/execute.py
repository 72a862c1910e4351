"""Execute notebooks with nbclient in a controlled, reproducible kernel environment.

Every kernel runs the build's own interpreter (``sys.executable``, i.e. the project's ``.venv``) in the
notebook's folder, with

- ``PYTHONHASHSEED=0`` (stable ``set``/``dict`` ordering of strings across runs);
- one BLAS/OpenMP thread (floating-point reductions do not depend on the machine's core count, and two
  notebooks can run side by side on two cores);
- the inline matplotlib backend, ``SOURCE_DATE_EPOCH=0`` and a build-owned ``matplotlibrc`` that fixes
  ``svg.hashsalt`` (byte-identical figures) and ignores the user's own rc file.

Seeding random number generators is the notebooks' job. Outputs that are nondeterministic by nature
(timings) belong in cells tagged ``nondeterministic``; the determinism check skips those cells. Consecutive
stream outputs are merged (:func:`coalesce_streams`), so how the kernel happened to chunk its output does
not matter.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

#: Tag for cells whose outputs legitimately differ between runs (timings, memory addresses).
NONDETERMINISTIC_TAG = "nondeterministic"

MATPLOTLIBRC = """\
# Written by mlcourse.build: the rc file of notebook kernels (the user's own rc file is not read).
svg.hashsalt: mlcourse
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI colour escapes."""
    return _ANSI.sub("", text)


def kernel_env(state_dir: Path) -> dict[str, str]:
    """Environment of the notebook kernels (see the module docstring).

    Parameters
    ----------
    state_dir : Path
        A build-owned folder where the kernels' ``matplotlibrc`` is written.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    rc = state_dir / "matplotlibrc"
    if not rc.is_file() or rc.read_text() != MATPLOTLIBRC:
        rc.write_text(MATPLOTLIBRC)
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MATPLOTLIBRC": str(rc),
        "SOURCE_DATE_EPOCH": "0",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    env.pop("JPY_PARENT_PID", None)
    return env


def kernel_manager(kernel_name: str):  # -> AsyncKernelManager
    """A kernel manager whose ``python3`` kernel is this interpreter, whatever kernelspecs exist.

    A user-level ``python3`` kernelspec pointing at another Python would otherwise take precedence over
    the one installed into the virtual environment.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    if kernel_name == "python3":
        specs = KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)
        return AsyncKernelManager(kernel_name=kernel_name, kernel_spec_manager=specs)
    return AsyncKernelManager(kernel_name=kernel_name)


@dataclass
class CellFailure:
    """A cell that raised: where, what, and the traceback as the kernel printed it."""

    notebook: str
    cell_index: int
    cell_count: int
    cell_id: str
    source: str
    ename: str
    evalue: str
    traceback: str

    def format(self, *, color: bool = False) -> str:
        """A multi-line report: notebook, cell number (1-based, as Jupyter shows them), source, traceback."""
        tb = self.traceback if color else strip_ansi(self.traceback)
        rule = "-" * 72
        if self.cell_index < 0:  # not a cell's fault: unreadable notebook, kernel that never started
            return f"{self.notebook}: {self.ename}: {self.evalue}\n{rule}\n{tb.rstrip()}\n{rule}"
        return (f"{self.notebook}: cell {self.cell_index + 1} of {self.cell_count} "
                f"(id {self.cell_id}) raised {self.ename}: {self.evalue}\n{rule}\n"
                f"{self.source.rstrip()}\n{rule}\n{tb.rstrip()}\n{rule}")


@dataclass
class Execution:
    """Result of executing one notebook."""

    nb: nbformat.NotebookNode
    seconds: float
    failure: CellFailure | None = None


def notebook_failure(rel: str, exc: BaseException, cell_count: int = 0) -> CellFailure:
    """A failure that no cell is to blame for (the notebook cannot be read, the kernel never started)."""
    message = str(exc).strip()
    lines = [line for line in message.splitlines() if line.strip(" -")]
    return CellFailure(rel, -1, cell_count, "-", "", type(exc).__name__, lines[0] if lines else "", message)


def _failure_from_cell(rel: str, nb: nbformat.NotebookNode, index: int | None,
                       exc: BaseException) -> CellFailure:
    if index is None:  # the kernel died or never started: no cell to blame
        return notebook_failure(rel, exc, len(nb.cells))
    cell = nb.cells[index]
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        err = errors[-1]
        tb, ename, evalue = "\n".join(err.get("traceback", [])), err.get("ename", ""), err.get("evalue", "")
    else:  # timeouts and dead kernels leave no error output
        lines = [line for line in str(exc).splitlines() if line.strip(" -")]
        ename, evalue, tb = type(exc).__name__, lines[0] if lines else "", str(exc)
    return CellFailure(rel, index, len(nb.cells), cell.get("id", "-"), cell.source, ename, evalue, tb)


async def execute_notebook(nb: nbformat.NotebookNode, *, rel: str, cwd: Path, env: dict[str, str],
                           log_path: Path, timeout: int = 600) -> Execution:
    """Execute ``nb`` (in place) top to bottom and report the first failing cell.

    Parameters
    ----------
    nb : NotebookNode
        The notebook; its outputs are replaced.
    rel : str
        Its path for messages.
    cwd : Path
        Working directory of the kernel (the notebook's folder).
    env : dict
        Kernel environment (:func:`kernel_env`).
    log_path : Path
        Where the kernel process's own stderr goes (warnings of the kernel machinery, crashes).
    timeout : int
        Seconds one cell may run.

    Returns
    -------
    Execution
        The notebook, the wall time and the failure, if any (the notebook then holds the outputs up to and
        including the failing cell).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, km=kernel_manager(kernel_name), timeout=timeout, record_timing=False,
                            allow_errors=False, shutdown_kernel="immediate")
    current: dict[str, int | None] = {"index": None}

    def on_cell_start(cell: nbformat.NotebookNode, cell_index: int) -> None:
        current["index"] = cell_index

    client.on_cell_start = on_cell_start
    start = time.perf_counter()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        try:
            await client.async_execute(cwd=str(cwd), env=env, stderr=log)
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as exc:
            failure = _failure_from_cell(rel, nb, current["index"], exc)
            return Execution(coalesce_streams(nb), time.perf_counter() - start, failure)
    return Execution(coalesce_streams(nb), time.perf_counter() - start)


def coalesce_streams(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Merge consecutive ``stdout`` (or ``stderr``) outputs of each cell into one, in place.

    The kernel flushes its streams on a timer, so one ``print`` sequence arrives in one chunk or in several
    depending on timing; merged, two executions of the same cell give the same outputs.
    """
    for cell in nb.cells:
        merged: list[nbformat.NotebookNode] = []
        for output in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and last is not None
                    and last.get("output_type") == "stream" and last.get("name") == output.get("name")):
                last["text"] = last["text"] + output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell.outputs = merged
    return nb


@dataclass
class Job:
    """One notebook to execute."""

    rel: str
    nb: nbformat.NotebookNode
    cwd: Path
    log_path: Path


async def _run_jobs(jobs: Sequence[Job], *, workers: int, env: dict[str, str], timeout: int,
                    on_done: Callable[[Job, Execution], None]) -> dict[str, Execution]:
    semaphore = asyncio.Semaphore(max(1, workers))
    results: dict[str, Execution] = {}

    async def run(job: Job) -> None:
        async with semaphore:
            execution = await execute_notebook(job.nb, rel=job.rel, cwd=job.cwd, env=env,
                                               log_path=job.log_path, timeout=timeout)
        results[job.rel] = execution
        on_done(job, execution)

    await asyncio.gather(*(run(job) for job in jobs))
    return results


def run_jobs(jobs: Sequence[Job], *, workers: int, env: dict[str, str], timeout: int = 600,
             on_done: Callable[[Job, Execution], None] = lambda job, ex: None) -> dict[str, Execution]:
    """Execute ``jobs`` with at most ``workers`` kernels at a time; call ``on_done`` as each finishes."""
    if not jobs:
        return {}
    return asyncio.run(_run_jobs(jobs, workers=workers, env=env, timeout=timeout, on_done=on_done))


def graft_outputs(source: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``source`` with the outputs and execution counts of ``executed`` (same code cells, in order).

    Markdown edits do not change the execution key; this puts the current prose around cached outputs.
    """
    import copy

    result = copy.deepcopy(source)
    done = [c for c in executed.cells if c.cell_type == "code"]
    todo = [c for c in result.cells if c.cell_type == "code"]
    if len(done) != len(todo):
        raise ValueError(f"cached notebook has {len(done)} code cells, source has {len(todo)}")
    for target, cell in zip(todo, done, strict=True):
        target.outputs = copy.deepcopy(cell.outputs)
        target.execution_count = cell.execution_count
    if "language_info" in executed.metadata:
        result.metadata["language_info"] = copy.deepcopy(executed.metadata["language_info"])
    return result
