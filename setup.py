"""Build hook: the package list of the one `seatwatch` package, and the runtime data
folders shipped inside `seatwatch.edge`.

pyproject.toml maps the repository folders to packages (`package-dir`: edge/ is
`seatwatch.edge`, ...); setuptools' discovery does not follow such a mapping, so the
packages under each folder are listed here. Policies, hardware (pinout, headset
calibration profiles), the firmware modules and the scenarios live at the top of the
repository; a wheel carries them as package data under `seatwatch/edge/_data/` (the table
is `DATA` in edge/resources.py, which reads them back through importlib.resources).
Everything else is in pyproject.toml.
"""

import runpy
import shutil
import tomllib
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RESOURCES = runpy.run_path(str(HERE / "edge" / "resources.py"))
PACKAGE_DIR: dict[str, str] = tomllib.loads((HERE / "pyproject.toml").read_text())[
    "tool"]["setuptools"]["package-dir"]


def packages() -> list[str]:
    """Every package under each mapped folder, named from its mapping."""
    found = set(PACKAGE_DIR)
    for package, folder in PACKAGE_DIR.items():
        found.update(f"{package}.{sub}" for sub in find_packages(str(HERE / folder)))
    return sorted(found)


class build_py_with_data(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return      # an editable install reads the checkout's folders directly
        target = Path(self.build_lib) / "seatwatch" / "edge" / RESOURCES["PACKAGED"]
        for relative, source in RESOURCES["shipped_files"](HERE):
            dest = target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


setup(packages=packages(), cmdclass={"build_py": build_py_with_data})
