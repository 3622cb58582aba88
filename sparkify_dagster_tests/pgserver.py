"""A throwaway PostgreSQL server for the test suite: ``initdb`` + ``pg_ctl`` in a temporary folder.

Runs as the ``postgres`` OS user when the suite runs as root (PostgreSQL refuses to run as root),
listens on 127.0.0.1 only, on a free port, with its unix socket inside the temporary folder.
Durability is switched off: the data is thrown away at the end.

Why not pytest-postgresql: its executor runs ``initdb``/``pg_ctl`` as the current user, which
PostgreSQL refuses as root (as this suite often runs); this one drops to ``postgres`` (runuser).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType


def find_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: ``$SPARKIFY_POSTGRES_BIN`` when set, else on PATH,
    else the newest /usr/lib/postgresql/*/bin (Debian's layout, not on PATH)."""
    if os.environ.get("SPARKIFY_POSTGRES_BIN"):
        folder = Path(os.environ["SPARKIFY_POSTGRES_BIN"])
        return folder if (folder / "initdb").exists() and (folder / "pg_ctl").exists() else None
    found = shutil.which("initdb")
    if found:
        folder = Path(found).resolve().parent
        if (folder / "pg_ctl").exists():
            return folder
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: (
            int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.as_root = os.geteuid() == 0
        # as root, somewhere the postgres user can reach whatever $TMPDIR is
        where = "/tmp" if self.as_root and os.path.isdir("/tmp") else None
        self.folder = Path(tempfile.mkdtemp(prefix="sparkify-pg-", dir=where))
        self.data = self.folder / "data"
        self.port = 0

    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}{tail}"
            )

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=50 -c shared_buffers=64MB"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                    "-o", options, "-w", "-t", "60", "start",
                )  # fmt: skip
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
