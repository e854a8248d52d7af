"""Shared fixtures. The code under test is the installed `seatwatch` package (`make venv`
installs this work tree in editable mode); `tests` and `bench` import as packages from the
repository root, which pytest puts on the import path (rootdir, `python -m pytest`)."""

from __future__ import annotations

pytest_plugins = ["tests.fixtures.broker"]
