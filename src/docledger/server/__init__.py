"""``docledger serve``: the HTTP API (and, later, the web UI) over the async surface."""

from docledger.server.app import create_app

__all__ = ["create_app"]
