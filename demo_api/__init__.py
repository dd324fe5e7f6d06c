"""A fictional CRM's REST API served over real HTTP on loopback: the stand-in for someone else's server.

>>> from demo_api import DemoServer
>>> with DemoServer(port=0, scale=0.1) as srv:  # doctest: +SKIP
...     srv.base_url, srv.api_key
"""

from .app import DemoApp, create_app
from .server import DemoServer, main
from .settings import DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Settings
from .store import Store

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DemoApp",
    "DemoServer",
    "Settings",
    "Store",
    "create_app",
    "main",
]
