"""Simulation entry point for adversarial trainers (demo and robustness benchmark only).

``python -m trainer.simulate --attack sign_flip PROJECT --data shard.npz --account N`` runs the
same round loop as ``fedmarket trainer run`` with an attack from :mod:`trainer.attacks`
switched on. It is deliberately not a ``fedmarket`` subcommand: a real trainer never gets near
an attack by mistyping a flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fedmarket.chain.context import open_chain
from fedmarket.chain.market import MarketContracts
from fedmarket.config import load_settings
from fedmarket.data_fit import read_options
from fedmarket.datasets import load_data
from fedmarket.errors import FedmarketError
from fedmarket.protocol import load_spec
from fedmarket.readiness import announce_ready
from fedmarket.storage.factory import open_store
from trainer import attacks
from trainer.client import TrainerClient


def main(argv: list[str] | None = None) -> int:
    """Run one simulated (possibly malicious) trainer until the project ends."""
    parser = argparse.ArgumentParser(prog="python -m trainer.simulate", description=__doc__)
    parser.add_argument("project", type=int)
    parser.add_argument("--data", required=True)
    parser.add_argument("--label-column", default=None)
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--account", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--attack", choices=attacks.names(), default=None)
    parser.add_argument("--attack-params", default="{}", help="JSON object of attack params")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--ready-file", type=Path, default=None,
                        help="written once connected and about to work")
    args = parser.parse_args(argv)
    try:
        settings = load_settings({"data_dir": args.data_dir, "account": args.account})
        chain = open_chain(settings)
        store = open_store(settings)
        attack = (attacks.get(args.attack, **json.loads(args.attack_params))
                  if args.attack else None)
        contracts = MarketContracts.at(chain.client, chain.deployment)
        spec = load_spec(store, contracts.market.project(args.project).params.model_spec_cid)
        data = load_data(args.data, read_options(spec, args.label_column, args.text_column))
        client = TrainerClient(
            contracts, store, data,
            settings.data_dir / "trainer" / chain.client.address.lower() / "pending",
            device="cpu", attack=attack)
        announce_ready(args.ready_file)
        done = client.run(args.project, timeout=args.timeout)
    except FedmarketError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"rounds": [s.round for s in done], "attack": args.attack}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
