"""Connectors: scheduled imports from a watched folder or an HTTP(S) URL (an ERP's nightly
export of orders), through a mapping template, idempotent through ``external_id``.

``inputs`` finds what is new (files not seen before, an URL whose content changed),
``services`` imports it through the import engine and records the result, ``tasks`` runs the
due connectors every hour, before the nightly analytics.
"""
