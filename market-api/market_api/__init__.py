"""fedmarket read API and dashboard (FastAPI).

Layout: :mod:`~.indexer` follows the contracts' events into the SQL index of :mod:`~.db`;
:mod:`~.api` serves it (one router per resource, ``deps.py``, schemas); :mod:`~.main` builds
the app and serves the dashboard from ``static/``; :mod:`~.service` opens all of it from
fedmarket settings (``fedmarket api serve | index``); :mod:`~.sample` plays a sample market on
the local dev chain for tests, the benchmark and demos.
"""
