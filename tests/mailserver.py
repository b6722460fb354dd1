"""A real IMAP server for tests: Debian's Dovecot, started as a child process with a
configuration of its own in a temporary folder (no system service, no files outside it).

``dovecot -F -c <folder>/dovecot.conf`` runs in the foreground, listens on 127.0.0.1 at a free
port, without TLS and with clear-text logins allowed (loopback only), and keeps everything —
sockets (``base_dir``), state, log, mail (Maildir) — in the folder. Users live in a
passwd-file written at the start, so each test gets a user (and mailbox) of its own from one
server per test process (``DovecotServer.new_user``).

Root: Dovecot never gives mail access to uid 0 and drops its internal and login processes to
unprivileged users. As root (CI) the mail belongs to the ``dovecot`` system user (its login
processes run as ``dovenull``; ``nobody`` where those users do not exist), and the folder is
made readable for them. As any other user every process runs as that user (chroot off).

Dovecot 2.3 and 2.4 differ in their configuration syntax (2.4: ``dovecot_config_version``,
``mail_driver``/``mail_path``, ``passdb passwd-file { passwd_file_path }``,
``auth_allow_cleartext``); ``dovecot --version`` picks the one to write.

Fixtures: ``dovecot_server`` (one server per test process) and ``imap_user`` (a user with an
empty mailbox per test); import both into a conftest.py to use them. Missing Dovecot skips the
test, or fails it with CI=true (``tests.conftest.require``). Mail is delivered with IMAP
APPEND, as a mail server's delivery agent would put it there.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

USERS = 1000  # test users (one per test) a server offers
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def dovecot_binary() -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN)
    return shutil.which("dovecot", path=path)


def dovecot_version(binary: str) -> tuple[int, int]:
    out = subprocess.run(  # noqa: S603 (our own binary, fixed arguments)
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    major, minor = out.split()[0].split(".")[:2]
    return int(major), int(minor)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ImapUser:
    server: DovecotServer
    username: str
    password: str

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server.port

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def deliver(self, raw: bytes | str, folder: str = "INBOX") -> int:
        """APPEND a message; returns its UID (Dovecot answers APPENDUID)."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            answer = client.append(folder, raw)
        finally:
            client.logout()
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        return int(text.split("APPENDUID", 1)[1].split()[1].rstrip("]"))

    def uids(self, folder: str = "INBOX", criteria: str = "ALL") -> list[int]:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(client.search(criteria))
        finally:
            client.logout()

    def recreate_folder(self, folder: str) -> None:
        """Delete a folder and create it again: it gets a new UIDVALIDITY, and its messages'
        UIDs start at 1 again (Dovecot cannot do this to INBOX)."""
        client = self.client()
        try:
            client.delete_folder(folder)
            client.create_folder(folder)
        finally:
            client.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        client = self.client()
        try:
            return int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])
        finally:
            client.logout()


class DovecotServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.version = dovecot_version(binary)
        self.folder = Path(tempfile.mkdtemp(prefix="kreis-dovecot-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.passwd = self.folder / "passwd"
        self.mail = self.folder / "mail"
        self._users = 0
        self._accounts = [(f"user{n}", secrets.token_urlsafe(12)) for n in range(1, USERS + 1)]
        if os.geteuid() == 0:
            internal = _system_user("dovecot")
            login = _system_user("dovenull")
            self.mail_uid, self.mail_gid = internal.pw_uid, internal.pw_gid
            self.internal_user, self.login_user = internal.pw_name, login.pw_name
            self.internal_group = grp.getgrgid(internal.pw_gid).gr_name
        else:
            me = pwd.getpwuid(os.getuid())
            self.mail_uid, self.mail_gid = me.pw_uid, me.pw_gid
            self.internal_user = self.login_user = me.pw_name
            self.internal_group = grp.getgrgid(me.pw_gid).gr_name

    # --- Configuration ------------------------------------------------------------------------

    def config(self) -> str:
        f = self.folder
        common = f"""
base_dir = {f}/run
state_dir = {f}/state
log_path = {f}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
default_internal_user = {self.internal_user}
default_internal_group = {self.internal_group}
default_login_user = {self.login_user}
first_valid_uid = 1
first_valid_gid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        if self.version >= (2, 4):
            return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
{common}
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = ~/Maildir
passdb passwd-file {{
  passwd_file_path = {self.passwd}
}}
userdb passwd-file {{
  passwd_file_path = {self.passwd}
}}
"""
        return f"""{common}
disable_plaintext_auth = no
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
}}
"""

    # --- Running -------------------------------------------------------------------------------

    def start(self, timeout: float = 20) -> None:
        for name in ("run", "state"):
            (self.folder / name).mkdir()
        self.mail.mkdir()
        self.passwd.write_text(
            "".join(
                f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::"
                f"{self.mail / name}::\n"
                for name, password in self._accounts
            )
        )
        os.chmod(self.folder, 0o755)  # noqa: S103 (the unprivileged mail user must enter it)
        os.chmod(self.passwd, 0o644)
        os.chown(self.mail, self.mail_uid, self.mail_gid)
        config = self.folder / "dovecot.conf"
        config.write_text(self.config())
        self.process = subprocess.Popen(  # noqa: S603 (our own binary and configuration)
            [self.binary, "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "stderr.log", "wb"),  # noqa: SIM115 (closed with the process)
            preexec_fn=_end_with_parent,  # noqa: PLW1509 (one prctl call, no locks)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Dovecot exited at start:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Dovecot did not answer on port {self.port}:\n{self.log()}")

    def log(self) -> str:
        parts = []
        for name in ("stderr.log", "dovecot.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_user(self) -> ImapUser:
        """A user with an empty mailbox of its own: the next of the users written into the
        passwd-file at the start (Dovecot notices a changed file only by a new modification
        second, so users are not added while it runs)."""
        if self._users >= len(self._accounts):
            raise RuntimeError("all test users of the Dovecot server are taken")
        username, password = self._accounts[self._users]
        self._users += 1
        return ImapUser(server=self, username=username, password=password)


def _end_with_parent() -> None:
    """Linux: Dovecot gets SIGTERM when the test process dies (killed, no teardown), so no
    server is left behind listening."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return pwd.getpwnam("nobody")


@pytest.fixture(scope="session")
def dovecot_server():
    from tests.conftest import require  # here: tests/conftest.py imports this module

    binary = dovecot_binary()
    require(binary is not None, "Dovecot", "apt-get install dovecot-imapd")
    server = DovecotServer(binary)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture
def imap_user(dovecot_server) -> ImapUser:
    return dovecot_server.new_user()
