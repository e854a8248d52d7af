"""Build hook: ship the repository's runtime data folders inside the `edge` package.

Policies, hardware (pinout, headset calibration profiles), the firmware modules and the
scenarios live at the top of the repository; a wheel carries them as package data under
`edge/_data/` (the table is `DATA` in edge/resources.py, which reads them back through
importlib.resources). Everything else is in pyproject.toml.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RESOURCES = runpy.run_path(str(HERE / "edge" / "resources.py"))


class build_py_with_data(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return      # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "edge" / RESOURCES["PACKAGED"]
        for relative, source in RESOURCES["shipped_files"](HERE):
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


setup(cmdclass={"build_py": build_py_with_data})
