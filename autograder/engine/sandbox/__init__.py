"""The untrusted side of the sandbox: every module here runs in a process that runs (or forks) student code.

``confine``   what a worker does to itself before student code runs (rlimits, namespaces, chroot, uid, audit
              hook)
``worker``    the sandboxed worker (``python -m autograder.engine.sandbox.worker``): runs the notebook's
              cells, answers calls and operations on the student's objects with plain data
``zygote``    the pre-warmed fork server (``python -m autograder.engine.sandbox.zygote``) that starts workers

Nothing here decides a score: the student's code can reach and change anything in these processes, so
everything they send is re-validated by the trusted side (``autograder.engine.spawn``, ``proxy``,
``remote``). Besides the standard library and NumPy they import only the modules shared by both sides:
``autograder.engine.protocol``, ``autograder.engine.limits`` and ``autograder.plain``. This package's
``__init__`` imports nothing.
"""
