"""A throwaway PostgreSQL cluster, for tests and benchmarks of the index on PostgreSQL.

``initdb`` in a fresh temporary folder, ``postgres`` on a free port of 127.0.0.1 only (plus a
Unix socket inside that folder), a random password for the one role, and durability turned
off (``fsync=off``: the cluster is deleted afterwards anyway). The server binaries are
Debian's (``postgresql-15``, installed by ``scripts/install-postgres``). PostgreSQL refuses to
run as root, so as root the cluster belongs to the ``postgres`` system user and its commands
run through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from fedmarket.errors import ConfigError

__all__ = ["ThrowawayPostgres", "postgres_bindir"]

ROLE = "fedmarket"
SYSTEM_USER = "postgres"


def postgres_bindir() -> Path | None:
    """The folder of ``initdb``/``pg_ctl``/``postgres`` (newest Debian version), or None."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if found:
        return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """One temporary cluster: :meth:`start`, then :meth:`create_database` at will, :meth:`stop`."""

    def __init__(self, bindir: Path | None = None):
        found = bindir or postgres_bindir()
        if found is None:
            raise ConfigError("PostgreSQL server binaries not found: run scripts/install-postgres")
        self.bindir = found
        self.password = secrets.token_hex(16)
        self.port = 0
        self.root: Path | None = None
        self._databases = 0
        self._as_user: list[str] = []

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        if self.root is None:
            raise ConfigError("the cluster is not started")
        return self.root / "data"

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
            [*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ConfigError(f"{Path(args[0]).name} failed ({result.returncode}): "
                              f"{(result.stderr or result.stdout).strip()[-800:]}")

    def start(self, timeout: float = 60) -> None:
        """Run initdb and start the server; ConfigError with the server's words on failure."""
        as_root = os.geteuid() == 0
        # As root the folder must be reachable by the postgres user: not under a private
        # $TMPDIR such as /root/tmp.
        self.root = Path(tempfile.mkdtemp(prefix="fedmarket-pg-",
                                          dir="/tmp" if as_root else None))
        if as_root:
            try:
                user = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                raise ConfigError(f"running as root needs the {SYSTEM_USER!r} system user "
                                  "(created by Debian's postgresql package)") from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", SYSTEM_USER, "--"]
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_user:
            os.chown(pwfile, pwd.getpwnam(SYSTEM_USER).pw_uid, -1)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", ROLE,
                  "--pwfile", str(pwfile), "--auth-host=scram-sha-256", "--auth-local=trust",
                  "-E", "UTF8", "--no-instructions")
        pwfile.unlink()
        last_error: ConfigError | None = None
        for _ in range(3):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=200")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l",
                          str(self.root / "server.log"), "-w", "-t", str(int(timeout)),
                          "-o", options, "start", timeout=timeout + 10)
                return
            except ConfigError as exc:
                last_error = exc
        log = (self.root / "server.log").read_text(errors="replace")[-800:]
        raise ConfigError(f"PostgreSQL did not start: {last_error}; log: {log}")

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3) of ``database`` on this cluster."""
        return (f"postgresql+psycopg://{ROLE}:{self.password}@127.0.0.1:{self.port}/"
                f"{database}")

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        self._databases += 1
        name = name or f"index_{self._databases}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=ROLE,
                             password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the folder."""
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                          "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> ThrowawayPostgres:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
