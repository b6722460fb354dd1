"""The SMTP connection of one mail account (Django's SMTP backend with the account's own
server and login). It differs from Django's in one point: it logs in only when the server
offers AUTH — a relay on this machine that takes mail without login (as Postfix on localhost
usually does) is used as it is, instead of failing with "SMTP AUTH extension not supported"."""

from __future__ import annotations

from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.utils import DNS_NAME


class AccountSMTPBackend(EmailBackend):
    def open(self) -> bool | None:
        if self.connection:
            return False
        params: dict = {"local_hostname": DNS_NAME.get_fqdn()}
        if self.timeout is not None:
            params["timeout"] = self.timeout
        if self.use_ssl:
            params["context"] = self.ssl_context
        try:
            self.connection = self.connection_class(self.host, self.port, **params)
            if not self.use_ssl and self.use_tls:
                self.connection.starttls(context=self.ssl_context)
            if self.username and self.password:
                self.connection.ehlo_or_helo_if_needed()
                if self.connection.has_extn("auth"):
                    self.connection.login(self.username, self.password)
            return True
        except OSError:
            if not self.fail_silently:
                raise
            return None
