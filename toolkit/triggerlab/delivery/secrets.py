"""Credentials: read from environment variables at send time, held in a wrapper that never shows its value."""

from __future__ import annotations

import os

from triggerlab.errors import SendError

__all__ = ["Secret", "env_secret"]


class Secret:
    """A credential. ``repr``/``str`` show the variable it came from, never the value; ``reveal()`` is the
    one way to read it, used only where it goes on the wire."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(from ${self.source})"

    __str__ = __repr__

    def __reduce__(self) -> str:
        raise TypeError("a Secret cannot be pickled")


def env_secret(name: str) -> Secret:
    """The credential in environment variable ``name``; if unset, SendError naming the variable only."""
    value = os.environ.get(name)
    if not value:
        raise SendError(f"environment variable {name} is not set (it should hold the credential)")
    return Secret(value, name)
