"""Domain exceptions. Library code raises these; the CLI maps them to one-line errors.

Exit codes: 1 for runtime failures (PsrError), 2 for bad input files or bad usage (InputError).
"""


class PsrError(Exception):
    """A runtime failure the user can act on; the message is one line and says what to do."""

    exit_code = 1


class InputError(PsrError):
    """Bad input data: the message names the file, column and row where it can."""

    exit_code = 2


class SealedError(PsrError):
    """Writing into a sealed iteration without --force."""


class NotImplementedYet(PsrError):
    """A command whose name is fixed but whose implementation lands in a later issue."""


def need(module: str, extra: str | None = None, purpose: str = ""):
    """Import an optional heavy dependency or raise a one-line error saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = f"pip install 'psr-builder[{extra}]'" if extra else f"pip install {module}"
        what = f" to use {purpose}" if purpose else ""
        raise PsrError(f"{module} is not installed{what}: {hint} ({exc})") from None
