"""Without the train extra, `rag.read.train_cross` still imports and training the cross-encoder stops with one line
naming the install; torch is made unimportable in a child process, so this runs with or without it installed."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PROJECT

_CHILD = """
import sys
sys.modules["torch"] = None  # as if torch were not installed
from pathlib import Path
from rag.errors import ConfigError
from rag.read.train_cross import run_cross
try:
    run_cross([], 0.0, "tiny", Path("unused"))
except ConfigError as e:
    print("ConfigError:", e)
"""


def test_run_cross_without_torch_names_the_extra() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "ConfigError:" in proc.stdout and "torch" in proc.stdout
    assert "pip install -e '.[train]'" in proc.stdout
    assert not (PROJECT / "unused").exists()
