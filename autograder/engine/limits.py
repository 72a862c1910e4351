"""Resource limits for one submission's sandboxed worker, as one value object shipped to every worker."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """Limits applied to the student's code.

    CPU limits are enforced inside the worker (a CPU-time timer), so they do not depend on how loaded the
    machine is and results are the same whatever the number of parallel workers. Wall-clock limits are
    enforced from the trusted side (the worker is killed) and catch code that sleeps or blocks.

    Attributes
    ----------
    call_cpu : float
        CPU seconds allowed for one call into the student's code (a function call, an ``eval``).
    cell_cpu : float
        CPU seconds allowed for one notebook cell while loading.
    wall_factor, wall_grace : float
        A call or cell is killed after ``wall_factor * cpu_limit + wall_grace`` wall-clock seconds.
    memory_mb : int
        Address-space limit of the worker (``RLIMIT_AS``), in MiB.
    process_cpu : int
        CPU seconds for the whole worker process (``RLIMIT_CPU``), a backstop.
    file_mb : int
        Largest file the worker may write (``RLIMIT_FSIZE``) and size of its private ``/tmp``, in MiB.
    response_mb : int
        Largest single response accepted from the worker, in MiB.
    notebook_mb : int
        Largest submitted notebook file accepted, in MiB.
    submission_wall : float
        Wall-clock budget for grading one submission (all its calls); later calls fail fast.
    max_restarts : int
        Fresh workers started for one submission after a timeout or a crash before giving up.
    """

    call_cpu: float = 30.0
    cell_cpu: float = 60.0
    wall_factor: float = 2.0
    wall_grace: float = 5.0
    memory_mb: int = 2048
    process_cpu: int = 900
    file_mb: int = 64
    response_mb: int = 64
    notebook_mb: int = 200
    submission_wall: float = 900.0
    max_restarts: int = 12

    def wall(self, cpu: float) -> float:
        """Wall-clock seconds allowed for something limited to ``cpu`` CPU seconds."""
        return self.wall_factor * cpu + self.wall_grace

    def to_dict(self) -> dict:
        return asdict(self)
