"""The grading engine behind ``course grade``: hidden tests in a trusted process, student code in a sandbox.

Modules, each holding one thing, grouped by the side of the sandbox they run on.

Untrusted side, :mod:`autograder.engine.sandbox` (processes that run or fork student code; audit it there):

``sandbox.confine``  what a worker does to itself before student code runs (rlimits, namespaces, chroot,
                     uid, audit hook)
``sandbox.worker``   the sandboxed worker process (``python -m autograder.engine.sandbox.worker``)
``sandbox.zygote``   a pre-warmed fork server that starts workers without paying Python's import time

Shared by both sides (standard library and NumPy only; the trusted side re-validates whatever arrives):

``limits``      resource limits (CPU, wall clock, memory, output size) as one value object
``protocol``    length-prefixed JSON frames and the plain-data codec used across the sandbox boundary
(and ``autograder.plain``: what counts as plain data, the student-facing exception types)

Trusted side (never imported by a worker):

``spawn``       where the sandbox draws its lines (:class:`~autograder.engine.spawn.SandboxConfig`) and
                starting workers (``exec`` or the zygote)
``proxy``       :class:`~autograder.engine.proxy.SandboxedStudent`, the trusted-side stand-in for
                ``autograder.loader.InProcessStudent``
``remote``      the student's objects operated on from the trusted side; callbacks counted there
``notebooks``   reading source and submitted notebooks: grade cells, points, code to run, caps
``inputs``      finding submissions and who they belong to: nbgrader's ``submitted/`` layout, a folder of
                notebooks, a folder per student (Gradescope export), a zip; links and special files refused
``grade``       grading one submission (the unit of parallel work, also shipped to Dask)
``course``      the instructor's nbgrader course: its folder, ``nbgrader_config.py`` and gradebook
``rerun``       content hashes that let a regrade skip unchanged submissions
``gradebook``   nbgrader bookkeeping: autograded notebooks and feedback made by nbgrader in the grading
                processes, the gradebook written in bulk by the parent
``outputs``     student outputs of hand-graded cells, reduced to inert content for graders
``report``      ``grades.csv``, Gradescope ``results.json``, the summary (atomic writes)
``batch_report`` ``report.html`` / ``report.json``: the instructor's view of a batch
``progress``    the progress bar
``pools``       the grading processes (a local pool or a Dask cluster), and stopping them
``batch``       running a whole batch in parallel and collecting results as they finish

This package's ``__init__`` imports nothing: the worker imports ``autograder.engine.sandbox.worker`` and must
not pull in the trusted side (``tests/test_engine.py`` checks the untrusted side's imports).
"""
