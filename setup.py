"""Ships the repository's top-level ``prompts/`` and ``rubrics/`` inside the wheel.

They stay editable files at the top of the checkout (where trainers and contributors
find them); a wheel carries a copy under ``calmline/_data/`` so an installed calmline
works anywhere (``calmline.paths`` says where each is looked for). Everything else
about the build is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("prompts", "rubrics")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout itself
        target = Path(self.build_lib) / "calmline" / "_data"
        for name in DATA_DIRS:
            source = HERE / name
            if source.is_dir():
                shutil.rmtree(target / name, ignore_errors=True)
                shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithData})
