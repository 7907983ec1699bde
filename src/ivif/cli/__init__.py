"""The ``ivif`` command line (click). One module per verb; this module holds the group and error handling.

Bad input (any :class:`ivif.errors.IvifError`) prints one line ``error: <message>`` on stderr and exits
with code 2; ``ivif --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import IvifError


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except IvifError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ivif")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ivif: infrared-visible image fusion — fuse, evaluate, benchmark."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: "list[str] | None" = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="ivif")


from . import bench, efficiency, evaluate, fuse, info, register, report, robust  # noqa: E402,F401  (register the verbs)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
