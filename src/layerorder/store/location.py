"""Where a store lives: an SQLite file path (the embedded default) or a PostgreSQL URL.

Every command and function that takes a store takes either, as a string; this module tells them
apart and shows a URL without its password.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

# the URL schemes a server store is opened with; libpq accepts both spellings
SERVER_SCHEMES = ("postgresql", "postgres")


def is_url(location: str | os.PathLike[str]) -> bool:
    """True when ``location`` names a server (``postgresql://…``), not a file."""
    return isinstance(location, str) and "://" in location


def check_scheme(location: str) -> None:
    """Raise unless a URL store names a server layerorder can use."""
    from layerorder.store.errors import StoreError

    scheme = location.split("://", 1)[0].lower()
    if scheme not in SERVER_SCHEMES:
        raise StoreError(
            f"store URL '{shown(location)}' has scheme '{scheme}'; a store is an SQLite file path"
            " or a PostgreSQL URL (postgresql://user@host:port/database)"
        )


def shown(location: str | os.PathLike[str]) -> str:
    """``location`` as messages show it: a URL's password (``user:PASSWORD@`` or
    ``?password=``) is replaced by ``***``."""
    text = os.fspath(location)
    if not is_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is not None:
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:***@{netloc[1]}")
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit(parts._replace(query=query))


def secrets_of(location: str) -> list[str]:
    """The password a URL holds, as written and decoded: what no message may repeat."""
    parts = urlsplit(location)
    found = [parts.password] if parts.password else []
    found += [m.group(1) for m in re.finditer(r"(?:^|&)password=([^&]*)", parts.query)]
    return [s for secret in found if secret for s in {secret, unquote(secret)}]


def exists(location: str | os.PathLike[str]) -> bool:
    """Whether there may be a store to read at ``location``: a file that exists, or any server
    URL (the server says whether it holds a store when it is opened)."""
    return is_url(location) or Path(location).exists()


def as_file(location: str | os.PathLike[str] | None) -> Path | None:
    """The store's file, or None for a server store (no output can overwrite it)."""
    return None if location is None or is_url(location) else Path(location)


def argument(location: str | os.PathLike[str]) -> str:
    """``location`` as a command line shown to the user takes it: shown, and quoted for a shell
    (a URL's ``?`` and ``&`` would be read by the shell)."""
    import shlex

    return shlex.quote(shown(location))
