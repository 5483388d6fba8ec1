"""The `psr` command line: the root group, error mapping and command registration.

Commands live in builder/commands/<group>.py; they parse options, call one library function,
print a one-line summary, and let domain errors become one-line messages with deliberate exit
codes (1 runtime, 2 bad input or usage).
"""

from __future__ import annotations

import importlib
import sys

import click

from builder.errors import PsrError

# (module in builder.commands, attribute): the fixed CLI surface.
COMMANDS = [
    ("init", "init"),
    ("loop", "iter_cmd"),
    ("problems", "problems"),
    ("model", "model"),
    ("data", "init_data"),
    ("generate", "generate"),
    ("generate", "seal"),
    ("generate", "pairs"),
    ("trainer", "export"),
    ("trainer", "config"),
    ("trainer", "train"),
    ("eval", "eval_cmd"),
    ("eval", "eval_judge"),
    ("report", "report"),
    ("show", "show"),
    ("sql", "sql"),
    ("validate", "validate"),
    ("push", "push"),
]


class PsrGroup(click.Group):
    """Turns domain exceptions (and a full disk) into one-line errors instead of tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PsrError as exc:
            err = click.ClickException(str(exc))
            err.exit_code = exc.exit_code
            raise err from None
        except OSError as exc:  # a full disk outside store/atomic.py (a log, a model, a copy): one line too
            from builder.store.atomic import disk_full

            err = disk_full(exc, exc.filename or ctx.meta.get("psr.run_dir") or ".")
            if err is None:
                raise
            raise click.ClickException(str(err)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; rerun the same command to resume", err=True)
            sys.exit(130)


@click.group(cls=PsrGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="psr-builder")
def cli():
    """psr: Process-based Self-Rewarding data builder.

    Each iteration N: M(N) searches step by step over problems, judges its own candidate steps,
    and the best-vs-worst step pairs train M(N+1) with step-wise DPO (in Axolotl).

    \b
    Quick start (embedded CPU demo):
      psr init runs/demo --preset demo
      make iter N=1 RUN=runs/demo
    """


def _register() -> None:
    for module, attr in COMMANDS:
        mod = importlib.import_module(f"builder.commands.{module}")
        cli.add_command(getattr(mod, attr))


_register()


def main() -> None:
    cli(prog_name="psr")


if __name__ == "__main__":
    main()
