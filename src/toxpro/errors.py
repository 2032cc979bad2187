"""The one base class for user errors: bad files, options or fields (the CLI prints each line, exit 2).

Every error class that means "what you gave me is wrong" subclasses UserError, so the command
line maps all of them to exit code 2 with one line per problem and never a traceback."""

from __future__ import annotations

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A problem with the user's input; str(exc) holds one line per problem, each naming the
    file, option or field at fault."""

    @property
    def lines(self) -> list[str]:
        problems = getattr(self, "problems", None)
        if problems:
            return [str(p) for p in problems]
        return [line for line in str(self).splitlines() if line.strip()] or [type(self).__name__]
