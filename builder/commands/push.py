"""`psr push`: publish sealed iterations to the Hugging Face Hub."""

from __future__ import annotations

import click

from builder.commands.options import locked, run_option, say


@click.command()
@locked
@run_option
@click.option("--repo", required=True, help="Dataset repo ORG/NAME.")
@click.option("--iter", "iterations", multiple=True, type=click.IntRange(min=0), help="Iteration(s) to push (default: all sealed).")
@click.option("--private", is_flag=True, help="Create the dataset private (ignored when it already exists).")
@click.option("--dry-run", "dry_run", type=click.Path(file_okay=False), help="Write the folder that would be uploaded to DIR; upload nothing.")
def push(run_dir, repo, iterations, private, dry_run):
    """Publish sealed iterations as a Hugging Face dataset.

    Uploads every sealed iteration's Parquet files (<table>/iteration=<N>/), their manifests, the
    run config and a dataset card (one config per table, one split iter<N> per iteration, `pairs`
    the default), then tags the commit iter-<N>. Unsealed iterations are never pushed.
    Token: HF_TOKEN or `hf auth login`.

    \b
    Examples:
      psr push --run runs/demo --repo my-org/psr-demo --dry-run /tmp/psr-demo-repo
      psr push --run runs/demo --repo my-org/psr-demo --iter 1 --iter 2 --private
    """
    from builder.hub import check_repo_id, publish
    from builder.store import Run

    check_repo_id(repo)
    run = Run.open(run_dir)

    def on_retry(attempt, status, delay):
        say(f"commit rejected (HTTP {status}: another commit landed first); retry {attempt} in {delay:.1f}s")

    result = publish(run, repo, iterations, private=private, dry_run=dry_run, on_retry=on_retry)
    its = ", ".join(map(str, result.iterations))
    if result.folder is not None:
        say(f"dry run: wrote the repository folder for {repo} (iteration(s) {its}) to {result.folder}; uploaded nothing")
        return
    tags = ", ".join(result.tags_created) or "none"
    kept = f"; kept existing tag(s) {', '.join(result.tags_existing)}" if result.tags_existing else ""
    say(f"pushed iteration(s) {its} to dataset {repo} ({result.url or f'commit {result.commit}'}, "
        f"{result.attempts} attempt(s)); tags created: {tags}{kept}")
