"""Errors. ``InputError`` is the user's mistake: the CLI prints it as one paragraph, exit 2."""

from __future__ import annotations


class ShieldwallError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(ShieldwallError):
    """Bad input: names the file, the field path (and line when known) and what was expected.

    Parameters
    ----------
    file : path of the offending file (or ``"<input>"``)
    message : what was wrong and what was expected
    field : dotted field path, e.g. ``raid.waves[2].count``
    line : 1-based line number in the file, when the parser knows it
    """

    def __init__(
        self, file: str, message: str, field: str | None = None, line: int | None = None
    ) -> None:
        self.file = str(file)
        self.field = field
        self.line = line
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"
