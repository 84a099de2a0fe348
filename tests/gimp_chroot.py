"""A Debian 13 (trixie) chroot with GIMP 3, built once per machine and kept outside the repo.

Used by tests/test_gimp3.py and benchmarks/bench_gimp.py. Debian 12 has no GIMP 3 and adding
trixie sources to the host would replace libc6, so GIMP 3 lives in a chroot
(see /work/shared/docs/gimp3.md for the measured recipe):

    debootstrap --variant=minbase trixie ROOT MIRROR      (13-32 s)
    apt-get install gimp python3-gi gir1.2-gimp-3.0 ...   (about 40 s)

Every command runs in a private mount namespace (``unshare --mount --fork``) with /proc and
/dev mounted inside the chroot only for that command, so nothing leaks to the host.

The chroot location is ``$COLORIZE_GIMP_CHROOT`` or /var/cache/colorize-gimp3-chroot. A stamp
file records the package list it was built with; a re-run with the same list reuses it.
Run ``python tests/gimp_chroot.py`` to build (or check) it by hand.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CHROOT = Path(os.environ.get("COLORIZE_GIMP_CHROOT", "/var/cache/colorize-gimp3-chroot"))
SUITE = "trixie"
PACKAGES = [
    "gimp",
    "python3-gi",
    "gir1.2-gimp-3.0",
    "gir1.2-gegl-0.4",
    "python3-venv",
    "ca-certificates",
    # for the GUI check: a virtual X server, input events, screenshots
    "xvfb",
    "xauth",
    "xdotool",
    "x11-apps",
    "dbus-x11",
    "matchbox-window-manager",
]
STAMP_NAME = ".colorize-chroot-ready"
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPO = Path(__file__).resolve().parent.parent


def _stamp_text() -> str:
    return hashlib.sha256(" ".join([SUITE] + PACKAGES).encode()).hexdigest() + "\n"


def unavailable_reason() -> str | None:
    """Why the chroot cannot be built or used here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "GIMP 3 chroot tests need Linux"
    if os.geteuid() != 0:
        return "GIMP 3 chroot tests need root (debootstrap, chroot, mount namespaces)"
    if is_ready():
        missing = [t for t in ("unshare", "chroot", "mount") if not shutil.which(t)]
        return f"missing host tools: {', '.join(missing)}" if missing else None
    missing = [t for t in ("debootstrap", "unshare", "chroot", "mount") if not shutil.which(t)]
    if missing:
        return (
            f"cannot build the GIMP 3 chroot: missing {', '.join(missing)} "
            "(apt-get install debootstrap util-linux)"
        )
    if not os.path.exists("/usr/share/debootstrap/scripts/" + SUITE):
        return f"this debootstrap does not know Debian '{SUITE}'"
    return None


def is_ready() -> bool:
    stamp = CHROOT / STAMP_NAME
    return stamp.is_file() and stamp.read_text() == _stamp_text()


def host_mirror() -> str:
    """The host's Debian mirror (so a mirror-only network still works)."""
    src = Path("/etc/apt/sources.list.d/debian.sources")
    if src.is_file():
        block_uri = None
        for line in src.read_text().splitlines():
            line = line.strip()
            if line.startswith("URIs:"):
                block_uri = line.split(None, 1)[1].split()[0]
            if line.startswith("Suites:") and block_uri and "security" not in line:
                return block_uri
    lst = Path("/etc/apt/sources.list")
    if lst.is_file():
        for line in lst.read_text().splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return "http://deb.debian.org/debian"


def _log(msg: str) -> None:
    print(f"[gimp-chroot] {msg}", file=sys.stderr, flush=True)


def _sync_host_files() -> None:
    """DNS and the host's extra CA certificates
    (pip in the chroot must trust what the host trusts)."""
    etc = CHROOT / "etc"
    try:
        resolv = Path("/etc/resolv.conf").read_bytes()
        target = etc / "resolv.conf"
        if target.is_symlink():
            target.unlink()
        target.write_bytes(resolv)
    except OSError:
        pass


def _install_ca_certs() -> None:
    src = Path("/usr/local/share/ca-certificates")
    dst = CHROOT / "usr/local/share/ca-certificates"
    dst.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        for crt in src.glob("*.crt"):
            shutil.copy2(crt, dst / crt.name)
    if (CHROOT / "usr/sbin/update-ca-certificates").exists():
        run(["update-ca-certificates"], timeout=120, check=True, quiet=True)


def ensure_chroot(timeout: float = 900) -> Path:
    """Build the chroot if needed (idempotent, locked against parallel builders);
    return its path."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    CHROOT.parent.mkdir(parents=True, exist_ok=True)
    lock_path = CHROOT.parent / (CHROOT.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_ready():
            _sync_host_files()
            return CHROOT
        t0 = time.monotonic()
        if not (CHROOT / ".colorize-debootstrap-done").is_file():
            if CHROOT.exists():
                _log(f"removing a half-built chroot at {CHROOT}")
                _rmtree_chroot()
            mirror = host_mirror()
            _log(f"debootstrap {SUITE} from {mirror} into {CHROOT} (about 30 s)")
            subprocess.run(
                ["debootstrap", "--variant=minbase", SUITE, str(CHROOT), mirror],
                check=True,
                timeout=timeout,
                stdout=subprocess.DEVNULL,
            )
            (CHROOT / ".colorize-debootstrap-done").write_text("ok\n")
            _log(f"debootstrap done in {time.monotonic() - t0:.0f} s")
        _sync_host_files()
        _install_ca_certs()
        _log("apt-get install GIMP 3 and Python GI in the chroot (about 60 s)")
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-qq"], env=env, timeout=timeout, check=True, quiet=True)
        run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + PACKAGES,
            env=env,
            timeout=timeout,
            check=True,
            quiet=True,
        )
        run(["apt-get", "clean"], timeout=60, check=True, quiet=True)
        _install_ca_certs()  # ca-certificates may have been installed just now
        (CHROOT / STAMP_NAME).write_text(_stamp_text())
        _log(f"chroot ready in {time.monotonic() - t0:.0f} s")
        return CHROOT


def _rmtree_chroot() -> None:
    # Never follow mounts: nothing is mounted there outside our private namespaces,
    # but refuse to delete if /proc of the chroot looks populated.
    if (CHROOT / "proc/self").exists():
        raise RuntimeError(f"{CHROOT}/proc is mounted; unmount it before rebuilding")
    shutil.rmtree(CHROOT)


def host_path(chroot_path: str) -> Path:
    """Where a path inside the chroot lives on the host."""
    return CHROOT / chroot_path.lstrip("/")


def run(
    cmd,
    *,
    env: dict | None = None,
    timeout: float = 300,
    check: bool = False,
    quiet: bool = False,
    binds: dict | None = None,
    cwd: str = "/",
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run ``cmd`` (a list, or a shell string for ``sh -c``) inside the chroot.

    A fresh mount namespace per call: /proc and /dev (and any ``binds``: host path ->
    chroot path) are mounted only there. The environment is cleared except for PATH,
    LANG, HOME=/root and ``env``. ``quiet`` is accepted for symmetry (output is captured
    anyway; a failing ``check`` run always prints it). On timeout the whole process group is
    killed and subprocess.TimeoutExpired is raised.
    """
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    full_env = {"PATH": CHROOT_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
    full_env.update(env or {})
    r = shlex.quote(str(CHROOT))
    mounts = [
        f"mount -t proc proc {r}/proc",
        f"mount --rbind /dev {r}/dev",
        f"mount -t tmpfs -o size=2g tmpfs {r}/dev/shm 2>/dev/null || true",
    ]
    for src, dst in (binds or {}).items():
        target = CHROOT / str(dst).lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        mounts.append(f"mount --bind {shlex.quote(str(src))} {shlex.quote(str(target))}")
    env_args = " ".join(shlex.quote(f"{k}={v}") for k, v in full_env.items())
    script = (
        "set -e; "
        + "; ".join(mounts)
        + (
            f'; exec chroot {r} /usr/bin/env -i {env_args} '
            f'sh -c \'cd "$0" && exec "$@"\' {shlex.quote(cwd)} "$@"'
        )
    )
    argv = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--fork",
        "--",
        "sh",
        "-c",
        script,
        "sh",
    ] + [str(c) for c in cmd]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(cmd, timeout, output=out, stderr=err) from None
    res = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and proc.returncode != 0:
        sys.stderr.write(out[-4000:] + err[-4000:])  # a failure always shows its output
        raise subprocess.CalledProcessError(proc.returncode, cmd, out, err)
    return res


# what a copy of the checkout leaves out: version control, caches, builds, environments, data
NOT_COPIED = (
    ".git", "__pycache__", "*.pyc", ".venv*", "venv", "build", "dist", "*.egg-info",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", "data", "runs", "checkpoints",
)  # fmt: skip
IGNORE = shutil.ignore_patterns(*NOT_COPIED)


def copy_repo(dest_in_chroot: str = "/opt/colorize-src") -> str:
    """A fresh copy of the working tree inside the chroot (pip builds there, not in the repo)."""
    dst = host_path(dest_in_chroot)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(REPO, dst, ignore=IGNORE, symlinks=True)
    return dest_in_chroot


if __name__ == "__main__":
    why = unavailable_reason()
    if why:
        sys.exit(f"gimp_chroot: {why}")
    t = time.monotonic()
    ensure_chroot()
    print(f"{CHROOT} ready ({time.monotonic() - t:.1f} s)")
    print(run(["gimp-console-3.0", "--version"], timeout=60).stdout.strip())
