"""The package installs into a clean venv from the local tree, offline
(pip --no-build-isolation --no-index, setuptools from Debian), and the
cohesix-playbook entry point works from there."""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_clean_venv_install(tmp_path: Path) -> None:
    import importlib.util
    if importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None:
        pytest.skip("pip or setuptools missing for this python (Debian: python3-pip, python3-setuptools)")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "cohesix", src / "cohesix", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copy(ROOT / "README.md", src)
    env = tmp_path / "venv"
    venv.create(env, system_site_packages=True, with_pip=False)
    py = env / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index", str(src)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = subprocess.run([str(env / "bin" / "cohesix-playbook"), "--list"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 9
    typed = subprocess.run([str(py), "-c", "import cohesix, pathlib; print((pathlib.Path(cohesix.__file__).parent / 'py.typed').exists())"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert typed.stdout.strip() == "True"
