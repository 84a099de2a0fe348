"""`colorize-core cluster` on a real local Ray cluster
(two nodes on 127.0.0.1), a worker killed mid-run."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import run_cli

ray = pytest.importorskip(
    "ray", reason="the cluster extra is not installed (pip install '.[cluster]')"
)
RAY = str(Path(sys.executable).with_name("ray"))
N_GOOD, BAD = 27, ("note.jpg", "cut.jpg", "empty.png")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RAY, *args], capture_output=True, text=True, timeout=timeout, env=_cluster_env()
    )


def _cluster_env() -> dict:
    """Token authentication, as on a real cluster:
    every node and the driver carry the test's token."""
    return dict(
        os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=TOKEN
    )


TOKEN = ""


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node, each with one CPU, on the loopback address;
    stopped afterwards."""
    global TOKEN
    temp = tempfile.mkdtemp(prefix="rayc")  # short: Ray's socket paths live under it
    TOKEN = os.path.join(temp, "token")
    Path(TOKEN).write_text(secrets.token_hex(32))
    port = _free_port()
    try:
        head = _ray(
            "start",
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            "1",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        )
        assert head.returncode == 0, head.stderr[-2000:]
        address = f"127.0.0.1:{port}"
        node = _ray(
            "start", "--address", address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1"
        )
        assert node.returncode == 0, node.stderr[-2000:]
        yield address
    finally:
        _ray("stop", "--force", timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def archive(tmp_path_factory, astronaut_rgb, coffee_rgb):
    """27 black-and-white photos of a few sizes and 3 bad files."""
    folder = tmp_path_factory.mktemp("archive")
    for i in range(N_GOOD):
        base = (astronaut_rgb if i % 2 else coffee_rgb).convert("L")
        base.rotate(90 * (i % 4), expand=True).resize((900 + 10 * i, 700)).save(
            folder / f"scan{i:02d}.jpg", quality=90
        )
    (folder / BAD[0]).write_text("not a photo")
    (folder / BAD[1]).write_bytes((folder / "scan00.jpg").read_bytes()[:3000])
    (folder / BAD[2]).write_bytes(b"")
    return folder


def _workers() -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "ray::colorize_task" in line]


def test_cluster_run_survives_a_killed_worker_and_matches_the_cli(cluster, archive, tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(archive),
            "-o",
            str(out),
            "--address",
            cluster,
            "--report",
            str(report),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_cluster_env(),
    )
    killed = None
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and killed is None:
        done = len(list(out.glob("*_colorized.jpg"))) if out.is_dir() else 0
        workers = _workers()
        if done >= 3 and workers:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    stdout, stderr = proc.communicate(timeout=300)
    assert killed is not None, "no colorizing worker was seen mid-run"
    assert proc.returncode == 1, stderr[-3000:]  # bad photos among them, as the CLI would say
    result = json.loads(stdout)
    assert result["summary"] == {"ok": N_GOOD, "skipped": 0, "error": len(BAD)}
    # every good photo once, equal to the single-machine CLI's output byte for byte
    reference = tmp_path / "reference"
    run_cli(archive, "-o", reference, "--jobs", "1")
    written = sorted(p.name for p in out.iterdir())
    # nothing else: no temp files
    assert written == sorted(f"scan{i:02d}_colorized.jpg" for i in range(N_GOOD))
    for name in written:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted(r["input"] for r in lines) == sorted(str(p) for p in archive.iterdir())
    failed = {Path(r["input"]).name: r["error"] for r in lines if r["status"] == "error"}
    assert set(failed) == set(BAD)
    assert "not an image" in failed["note.jpg"] and "empty file" in failed["empty.png"]
    # a second run writes nothing new
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(archive),
            "-o",
            str(out),
            "--address",
            cluster,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_cluster_env(),
    )
    assert again.returncode == 1
    assert json.loads(again.stdout)["summary"] == {"ok": 0, "skipped": N_GOOD, "error": len(BAD)}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_the_cli_and_the_cluster_report_a_damaged_photo_alike(cluster, archive, tmp_path):
    """--json of both front ends: the same failure record
    (what differs is only where and how long)."""
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in BAD:
        shutil.copy(archive / name, damaged / name)
    cli = run_cli(damaged, "-o", tmp_path / "cli", "--json", timeout=120)
    on_ray = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(damaged),
            "-o",
            str(tmp_path / "ray"),
            "--address",
            cluster,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_cluster_env(),
    )
    assert cli.returncode == on_ray.returncode == 1, (cli.stderr[-2000:], on_ray.stderr[-2000:])

    def failures(stdout: str) -> list[dict]:
        return [
            {k: v for k, v in r.items() if k not in ("seconds", "node", "pid")}
            for r in json.loads(stdout)["results"]
        ]

    from_cli = failures(cli.stdout)
    assert [(Path(r["input"]).name, r["status"], r["failure"]) for r in from_cli] == [
        (name, "error", "photo") for name in sorted(BAD)
    ]
    assert failures(on_ray.stdout) == from_cli


def test_list_files_and_usage_errors(archive, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two photos\n{archive / 'scan01.jpg'}\n\n{archive / 'scan02.jpg'}\n")
    from colorize_core.cluster import expand_inputs

    assert expand_inputs([f"@{listing}", "x.jpg"]) == [
        archive / "scan01.jpg",
        archive / "scan02.jpg",
        Path("x.jpg"),
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            f"@{tmp_path / 'missing.txt'}",
            "-o",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "cannot read the list" in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(archive),
            "-o",
            str(tmp_path / "o"),
            "--strength",
            "nan",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "from 0 to 4" in proc.stderr


def test_hint_files_with_a_model_that_reads_none_are_refused_before_any_worker(
    tmp_path, gray_photo
):
    from PIL import Image

    album = tmp_path / "album"
    album.mkdir()
    gray_photo.resize((64, 64)).save(album / "a.png")
    Image.new("RGBA", (8, 8), (200, 30, 30, 255)).save(album / "a.hints.png")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorize_core",
            "cluster",
            str(album),
            "-o",
            str(tmp_path / "o"),
            "--model",
            "fast",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "takes no colour hints" in proc.stderr, proc.stderr
    assert not any((tmp_path / "o").iterdir())


def test_the_runtime_never_imports_ray(gray_file):
    code = (
        "import sys; from colorize_core.cli import main; main([sys.argv[1], '-q', '--overwrite']); "
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(gray_file)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
