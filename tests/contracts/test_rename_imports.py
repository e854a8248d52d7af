"""tools/rename_imports.py: old module names become the installed ones, a second run
changes nothing, and names that are no module stay as written (issue 14)."""

from __future__ import annotations

import pytest

from tools.rename_imports import known_modules, main, rewrite_python, rewrite_text

MODULES = known_modules()

OLD = '''"""Uses edge.policy.load_policy and models.synth.corpus; edge.toml is a file."""
import edge.events
import edge.dsp.vad as vad
from edge import cli, payloads, topics
from edge.publish import session
from edge.publish.session import BrokerUrl
from host_console.state import (
    FloorState,  # the floor model
)

edge.events.time = clock                 # type: ignore[assignment]
proc.run(["-m", "edge.cli", "analyze"], patch="edge.daemon.run_seat")
edge.poll()  # edge/events.py holds the rule
'''

NEW = '''"""Uses seatwatch.edge.policy.load_policy and seatwatch.models.synth.corpus; edge.toml is a file."""
import seatwatch.contracts.events
import seatwatch.edge.dsp.vad as vad
from seatwatch import cli
from seatwatch.contracts import payloads, topics
from seatwatch.contracts import session
from seatwatch.contracts.session import BrokerUrl
from seatwatch.console.state import (
    FloorState,  # the floor model
)

seatwatch.contracts.events.time = clock  # type: ignore[assignment]
proc.run(["-m", "seatwatch.cli", "analyze"], patch="seatwatch.edge.daemon.run_seat")
edge.poll()  # seatwatch/contracts/events.py holds the rule
'''


def test_old_names_become_the_installed_ones() -> None:
    assert rewrite_python(OLD, MODULES) == NEW


def test_a_second_run_changes_nothing() -> None:
    assert rewrite_python(NEW, MODULES) == NEW
    text = "python -m models.cli train; `edge.topics.check_origin`; host_console.app"
    once = rewrite_text(text, MODULES)
    assert once == ("python -m seatwatch.models.cli train; `seatwatch.contracts.topics.check_origin`; "
                    "seatwatch.console.app")
    assert rewrite_text(once, MODULES) == once


@pytest.mark.parametrize("text", ["edge.toml", "edge.log", "models.tflite", "seat.edge.daemon",
                                  "my-edge.cli", "a/edge.cli", "the edge. Then"])
def test_what_is_no_old_module_reference_stays(text: str) -> None:
    assert rewrite_text(text, MODULES) == text


def test_the_repository_is_up_to_date() -> None:
    # a merge that brings old names back: run tools/rename_imports.py
    assert main(["--check"]) == 0


def test_package_data_keys_get_their_installed_name() -> None:
    from tools.rename_imports import rewrite_package_data_keys

    old = ('[tool.setuptools.package-data]\nmodels = ["*.tflite"]\nhost_console = ["*.tcss"]\n'
           '\n[x]\nmodels = 1\n')
    new = rewrite_package_data_keys(old)
    assert new == ('[tool.setuptools.package-data]\n"seatwatch.models" = ["*.tflite"]\n'
                   '"seatwatch.console" = ["*.tcss"]\n\n[x]\nmodels = 1\n')
    assert rewrite_package_data_keys(new) == new
