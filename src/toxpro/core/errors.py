"""The error base: every toxpro exception derives from ToxproError; user errors from UserError.

Every error class that means "what you gave me is wrong" subclasses UserError, so the command
line maps all of them to exit code 2 with one line per problem and never a traceback."""

from __future__ import annotations

EXIT_USER_ERROR = 2


class ToxproError(Exception):
    """The base of every exception toxpro raises on purpose (`except ToxproError` catches them all)."""


class UserError(ToxproError):
    """A problem with the user's input; str(exc) holds one line per problem, each naming the
    file, option or field at fault."""

    @property
    def lines(self) -> list[str]:
        problems = getattr(self, "problems", None)
        if problems:
            return [str(p) for p in problems]
        return [line for line in str(self).splitlines() if line.strip()] or [type(self).__name__]
