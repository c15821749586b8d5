"""tools/check_gpu_install.py's reading of pip's installation report (the dry run itself needs the network)."""

from __future__ import annotations

import json

from tools.check_gpu_install import resolved_versions, table_rows

GROUPS = {"torch": ["torch==2.11.0"], "flash-attn": ["flash-attn==2.8.3"], "rest": ["verl[vllm]==0.9.1", "pandas"]}


def report(tmp_path, packages: dict[str, tuple[str, str]]):
    """pip's --report layout: install[] with metadata name/version and the download URL."""
    items = [
        {
            "metadata": {"name": name, "version": version},
            "download_info": {"url": f"https://files.example/{name}-{version}.{ext}"},
        }
        for name, (version, ext) in packages.items()
    ]
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"version": "1", "install": items}))
    return path


def verdicts(rows):
    return {row[0]: row[3] for row in rows}


def test_a_resolution_matching_every_pin(tmp_path):
    resolved = resolved_versions(
        report(
            tmp_path,
            {
                "torch": ("2.11.0", "whl"),
                "einops": ("0.8.1", "whl"),
                "verl": ("0.9.1", "whl"),
                "Pandas": ("3.1.1", "tar.gz"),
            },
        )
    )
    assert resolved["pandas"] == ("3.1.1", "sdist") and resolved["torch"] == ("2.11.0", "wheel")
    got = verdicts(table_rows(GROUPS, resolved))
    assert got["torch==2.11.0"] == got["verl[vllm]==0.9.1"] == got["pandas"] == "ok"
    assert got["flash-attn==2.8.3"].endswith("present")


def test_mismatch_and_missing_are_flagged(tmp_path):
    resolved = resolved_versions(report(tmp_path, {"torch": ("2.10.0", "whl"), "verl": ("0.9.1", "whl")}))
    got = verdicts(table_rows(GROUPS, resolved))
    assert got["torch==2.11.0"] == "MISMATCH (==2.11.0)" and got["pandas"] == "MISSING"
    assert "MISSING ['einops']" in got["flash-attn==2.8.3"]
