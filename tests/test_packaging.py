"""A plain (non-editable) install carries the bundled specs and resolves them by name."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(ROOT)], check=True, timeout=300)
    return next(out.glob("archcalc-*.whl"))


def test_wheel_contains_the_specs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for spec in sorted((ROOT / "specs").glob("*.yaml")):
        assert f"archcalc/specs/{spec.name}" in names
    assert "archcalc/devices.yaml" in names  # the device profiles of the roofline
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    core = [line for line in metadata.splitlines()
            if line.startswith("Requires-Dist") and "extra ==" not in line]
    assert not any("torch" in line or "fvcore" in line for line in core)  # torch is an extra


def test_installed_package_resolves_bundled_names(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    probe = ("import archcalc, sys\n"
             "from archcalc.spec.catalog import specs_dir\n"
             "print(archcalc.__file__)\nprint(specs_dir())\n"
             "print(archcalc.analyze('vgg16').totals.params)\n"
             "from archcalc.devices import load_profile\nprint(load_profile('h200').memory_gbps)\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    module_file, specs, params, bandwidth = result.stdout.split()
    assert module_file.startswith(str(target)) and specs.startswith(str(target))
    assert int(params) == 138_357_544  # torchvision vgg16 num_params
    assert float(bandwidth) == 4800  # the bundled profiles, read from the installed package
