"""``fedmarket api serve | index``: the read API and dashboard, and its chain indexer.

``market_api`` (FastAPI, SQLAlchemy, uvicorn) is imported inside the commands, so the rest of
the CLI starts without it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from fedmarket.cli.common import JsonOpt, emit, fail, settings_from, user_errors

app = typer.Typer(help="Serve the read API and dashboard; index the chain.",
                  no_args_is_help=True)

DataDirOpt = typer.Option(None, "--data-dir", help="Data dir (default ./.fedmarket).")
RpcOpt = typer.Option(None, "--rpc-url", help="JSON-RPC URL (default: the local node).")
IndexOpt = typer.Option(None, "--index-url",
                        help="SQLAlchemy URL of the index (default: SQLite in the data dir).")
ConfirmOpt = typer.Option(None, "--confirmations", min=0,
                          help="Blocks to stay behind the head (default: 0 local, 6 elsewhere).")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    interval: float = typer.Option(1.0, "--interval", min=0.05,
                                   help="Seconds between indexer passes."),
    data_dir: Path = DataDirOpt,
    rpc_url: str = RpcOpt,
    index_url: str = IndexOpt,
    confirmations: int = ConfirmOpt,
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Server processes (each uses one core)."),
) -> None:
    """Run the API and dashboard (http://HOST:PORT/) with the indexer in the background.

    The node need not be up: the API serves the index it has, ``/health`` reports
    ``chain_unreachable``, and indexing resumes on whichever port the node comes back.
    """
    from market_api.service import open_service, run_server

    settings = settings_from(data_dir=data_dir, rpc_url=rpc_url, index_url=index_url)
    with user_errors():
        service = open_service(settings, confirmations=confirmations, require_chain=False)
    node = (f"node {service.follower.url}" if service.follower.url is not None
            else "node not reachable yet: serving the index, following once it is up")
    typer.echo(f"fedmarket API and dashboard on http://{host}:{port}/ "
               f"(chain {service.deployment.chain_id}, {node}, index {service.index.safe_url}"
               f"{f', {workers} workers' if workers > 1 else ''})")
    run_server(service, host, port, interval, workers)


@app.command()
def index(
    data_dir: Path = DataDirOpt,
    rpc_url: str = RpcOpt,
    index_url: str = IndexOpt,
    confirmations: int = ConfirmOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run one catch-up pass of the indexer and report what it applied."""
    from market_api.service import open_service

    settings = settings_from(data_dir=data_dir, rpc_url=rpc_url, index_url=index_url)
    with user_errors():
        service = open_service(settings, confirmations=confirmations)
        try:
            report = service.indexer.sync()
        except Exception as exc:  # noqa: BLE001 - node or database failure: one line, exit 1
            fail(f"indexing failed: {str(exc).splitlines()[0] if str(exc) else exc!r}")
        finally:
            service.close()
        text = (f"indexed blocks {report.from_block}..{report.to_block} "
                f"(chain head {report.chain_head}): {report.logs} new events"
                if report.batches else
                f"index up to date at block {report.to_block} (chain head {report.chain_head})")
        emit(as_json, report.to_json(),
             text + (" after rebuilding the index" if report.reset else ""))
