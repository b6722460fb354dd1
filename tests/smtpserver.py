"""A real SMTP server for tests: aiosmtpd on a free loopback port, with Django's e-mail
settings pointed at it, keeping every message it receives (parsed with the ``email`` module).

Use the ``smtp_inbox`` fixture (tests/conftest.py); ``inbox.messages`` is a list of
``(recipients, message)`` with ``message`` an ``email.message.EmailMessage``.
"""

from __future__ import annotations

import email
import socket
from contextlib import contextmanager
from email.policy import default as default_policy


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages sent to ``address``."""
        return [message for recipients, message in self.messages if address in recipients]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body_text(message: email.message.EmailMessage) -> str:
    """The plain-text part of a message, with the wire's CRLF line ends as newlines."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


@contextmanager
def smtp_server(settings):
    """Run the server while the block runs, with ``settings`` (pytest-django's fixture)
    pointing Django's SMTP backend at it."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield inbox
    finally:
        controller.stop()
