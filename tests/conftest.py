"""Shared by every test module.

OMP_WAIT_POLICY=PASSIVE, as the worker process sets it for itself (bot/worker/process.py): the
tests that run torch in this process share 2 CPU cores with other processes, where OpenMP threads
that spin while they wait starve each other (tiny ops become ten times slower).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
