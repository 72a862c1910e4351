"""The grading engine behind ``course grade``: hidden tests in a trusted process, student code in a sandbox.

Modules, each holding one thing:

``limits``      resource limits (CPU, wall clock, memory, output size) as one value object
``protocol``    length-prefixed JSON frames and the plain-data codec used across the sandbox boundary
``confine``     what a worker does to itself before student code runs (rlimits, namespaces, chroot, uid,
                audit hook); runs inside the worker only
``worker``      the sandboxed worker process (``python -m autograder.engine.worker``)
``zygote``      a pre-warmed fork server that starts workers without paying Python's import time
``proxy``       :class:`~autograder.engine.proxy.SandboxedStudent`, the trusted-side stand-in for
                ``autograder.loader.InProcessStudent``
``notebooks``   reading source and submitted notebooks: grade cells, points, code to run, hidden regions
``inputs``      finding submissions: nbgrader's ``submitted/`` layout, a folder of notebooks, a zip
``grade``       grading one submission (the unit of parallel work, also shipped to Dask)
``gradebook``   nbgrader bookkeeping: gradebook, autograded notebooks, feedback (parent process only)
``report``      ``grades.csv``, Gradescope ``results.json``, the summary
``progress``    the progress bar
``batch``       running a whole batch in parallel (processes or Dask) and collecting results

This package's ``__init__`` imports nothing: the worker imports ``autograder.engine.worker`` and must not pull
in the trusted side.
"""
