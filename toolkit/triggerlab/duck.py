"""One way to open DuckDB: extension autoinstall and autoload off (no network here; fail fast and clearly)."""

from __future__ import annotations

from pathlib import Path

import duckdb

__all__ = ["connect"]


def connect(
    path: str | Path = ":memory:", *, read_only: bool = False, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads is not None:
        config["threads"] = threads
    return duckdb.connect(str(path), read_only=read_only, config=config)
