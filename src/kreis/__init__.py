"""Kreis — an open-source CRM for the whole customer lifecycle."""

__version__ = "0.1.0"
