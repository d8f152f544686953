"""The layering contract (pyproject.toml, docs/architecture.md) holds, and a wrong import breaks it.

`make test` runs `lint-imports` before pytest; this test shows the contract is not vacuous: in a
scratch copy of the apps, one upward import (notifications reaching billing) makes it fail.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_DIR

PACKAGES = ("bloom", "accounts", "notifications", "billing", "courses", "workshops", "appointments", "content")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, capture_output=True, text=True, timeout=300, env={"PYTHONPATH": "."}
    )


def _scratch_copy(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(BASE_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(BASE_DIR / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_the_layering(tmp_path):
    result = _lint(_scratch_copy(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    root = _scratch_copy(tmp_path)
    with (root / "notifications" / "selectors.py").open("a") as module:
        module.write("\nfrom billing import selectors as _billing_selectors  # noqa\n")
    result = _lint(root)
    assert result.returncode != 0
    assert "notifications.selectors -> billing.selectors" in result.stdout
