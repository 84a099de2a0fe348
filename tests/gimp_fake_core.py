#!/usr/bin/env python3
"""A stand-in ``colorize-core`` for testing the plug-ins' error paths (standard library only).

Follows the bridge protocol; ``FAKE_CORE_MODE`` (or the script's name, fake-core-MODE) picks
how it behaves:
  ok       tints the picture (R up, B down, luminance kept for gray input), alpha kept
  error    exits 3 with "colorize-core: error: ..." on stderr
  hang     sleeps forever (the plug-in must kill it)
  crash    kills itself with SIGSEGV
  garbage  writes an output with the wrong shape
  noout    exits 0 without writing the output
"""

import os
import signal
import sys
import time

sys.path.insert(
    0,
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "colorize_core", "gimp_plugin"),
)


def main(argv):
    mode = os.environ.get("FAKE_CORE_MODE")
    if not mode:
        base = os.path.basename(argv[0])
        mode = base.split("fake-core-", 1)[1] if "fake-core-" in base else "ok"
    args = argv[1:]
    if args[:1] == ["--version"]:
        print("colorize-core 0.0.0-fake")
        return 0
    if args[:2] == ["bridge", "--check"]:
        print('{"version": "0.0.0-fake", "model": "fake"}')
        return 0
    if args[:1] == ["bridge-server"]:  # as a core from before the resident core: no such command
        print("colorize-core: error: fake core has no bridge-server", file=sys.stderr)
        return 2
    if not args or args[0] != "bridge" or len(args) < 3:
        print("colorize-core: error: fake core supports only 'bridge IN OUT'", file=sys.stderr)
        return 2
    src, dst = args[1], args[2]
    print("progress 0.10", flush=True)
    if mode == "error":
        print("colorize-core: error: the model file is corrupt (fake)", file=sys.stderr)
        return 3
    if mode == "hang":
        with open(os.environ.get("FAKE_CORE_PIDFILE", os.devnull), "w") as f:
            f.write(str(os.getpid()))
        while True:
            time.sleep(1)
    if mode == "crash":
        sys.stderr.write("fake core: about to crash\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "noout":
        return 0
    import ast
    import struct

    with open(src, "rb") as f:
        head = f.read(10)
        (hlen,) = struct.unpack("<H", head[8:10])
        header_bytes = f.read(hlen)
        header = ast.literal_eval(header_bytes.decode("latin1"))
        data = bytearray(f.read())
    h, w, c = header["shape"]
    if mode == "garbage":
        import colorize_bridge

        out = (
            colorize_bridge.npy_header(header["descr"], (h + 1, w, c)) + bytes(data) + bytes(w * c)
        )
    else:
        if header["descr"] == "|u1":
            # gray in: R + 10, B - 26 keeps BT.601 luminance (0.299 * 10 = 0.114 * 26)
            up = bytes(min(255, v + 10) for v in range(256))
            down = bytes(max(0, v - 26) for v in range(256))
            data[0::c] = bytes(data[0::c]).translate(up)
            data[2::c] = bytes(data[2::c]).translate(down)
        out = head + header_bytes + bytes(data)
    print("progress 0.90", flush=True)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, dst)
    print("progress 1.00", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
