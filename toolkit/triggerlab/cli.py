"""The ``triggerlab`` command: one thin shell per library function (see ``triggerlab.commands``).

Exit codes: 0 ok, 1 findings or failures, 2 usage or input errors (one readable line, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import NoReturn

from triggerlab.errors import CampaignError, TriggerlabError

__all__ = ["COMMANDS", "main"]

#: command modules in ``triggerlab.commands``, in the order ``--help`` lists them
COMMANDS: tuple[str, ...] = (
    "validate",
    "render",
    "check",
    "simulate",
    "schema",
    "publish",
    "list",
    "demo",
    "send",
)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="triggerlab",
        description="Design, forecast and send External Trigger campaigns.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        import_module(f"triggerlab.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.run(args)
        return code
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except CampaignError as exc:
        print(exc, file=sys.stderr)
        return 2
    except TriggerlabError as exc:
        print(f"triggerlab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("triggerlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
