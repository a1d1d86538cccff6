"""The whole tokenlane exception tree.

    TokenlaneError                 anything a user can cause; the CLI maps it to exit code 2
    ├── InputError                 a value the user gave is wrong
    │   ├── ScenarioError          a scenario file is malformed
    │   ├── CatalogError           a catalog entry or model config is malformed
    │   └── UnknownIdError         an id names nothing in the catalog (carries close matches)
    ├── EndpointError              a server under test could not be reached or spoke nonsense
    └── Cancelled                  the user stopped the work (a search cancelled on the web page)

"Does not fit" and "SLO unreachable" are results, never exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence


class TokenlaneError(Exception):
    """Base of every error a user can cause.

    `path` is the file involved (if any), `field` the dotted field within it (if any);
    the message is the user's one line, without either.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None, more: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.field = field
        self.more = tuple(more)
        """Further problems of the same file, each a complete `<field>: <problem>`."""

    def one_line(self) -> str:
        """`<file>: <field>: <problem>`, leaving out the parts that are unknown; never more than one line."""
        parts = [_printable(p) for p in (self.path, self.field) if p]
        parts.append(_printable(self.message))
        return ": ".join(parts)

    def lines(self) -> list[str]:
        """One complete line per problem: the first, then each of `more`, each with the file."""
        rest = [": ".join(_printable(p) for p in (self.path, m) if p) for m in self.more]
        return [self.one_line(), *rest]


def _printable(text: str) -> str:
    """Text on one line: newlines and other control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class InputError(TokenlaneError):
    """A value the user gave is wrong."""


class ScenarioError(InputError):
    """A scenario file is malformed or inconsistent."""


class CatalogError(InputError):
    """A catalog entry, user catalog file or Hugging Face config is malformed."""


class UnknownIdError(InputError):
    """An id names nothing in the catalog."""

    def __init__(
        self,
        kind: str,
        wanted: str,
        *,
        close_matches: Sequence[str] = (),
        path: str | None = None,
        field: str | None = None,
    ) -> None:
        hint = f"; did you mean {', '.join(close_matches)}?" if close_matches else ""
        super().__init__(f"unknown {kind} id '{wanted}'{hint}", path=path, field=field)
        self.kind = kind
        self.wanted = wanted
        self.close_matches = tuple(close_matches)


class EndpointError(TokenlaneError):
    """An endpoint under test could not be reached or answered something unusable."""


class Cancelled(TokenlaneError):
    """The user stopped the work before it finished (a search cancelled on the web page)."""
