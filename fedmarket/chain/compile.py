"""Compile ``contracts/*.sol`` with the pinned solc-js through standard-JSON.

Artifacts (ABI, bytecode, deployed bytecode, a hash of every source that went in) land in the
git-ignored ``build/contracts/`` folder, one JSON per contract. A compile is skipped when the
hash of the sources, the compiler settings and the compiler version is unchanged, so callers
(tests, ``chain up``) may call :func:`compile_contracts` freely.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedmarket.errors import ChainError

__all__ = ["Artifact", "compile_contracts", "load_artifact", "project_root", "SOLC_SETTINGS"]

# Pinned so bytecode (and hence gas figures and addresses) is the same on every machine.
SOLC_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "viaIR": True,
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}

_COMPILER_SCRIPT = Path(__file__).with_name("solc_compile.cjs")


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_hash: str


def project_root() -> Path:
    """The checkout holding ``contracts/`` and ``node_modules/`` (this file is inside it)."""
    return Path(__file__).resolve().parents[2]


def _sources(contracts_dir: Path) -> dict[str, str]:
    files = sorted(contracts_dir.rglob("*.sol"))
    if not files:
        raise ChainError(f"no Solidity sources under {contracts_dir}")
    return {str(f.relative_to(contracts_dir.parent)): f.read_text() for f in files}


def _digest(sources: dict[str, str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(SOLC_SETTINGS, sort_keys=True).encode())
    h.update(_solc_version_marker().encode())
    for name, text in sorted(sources.items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def _solc_version_marker() -> str:
    pkg = project_root() / "node_modules" / "solc" / "package.json"
    if not pkg.is_file():
        raise ChainError("solc-js is not installed: run `make setup` (npm ci) first")
    return str(json.loads(pkg.read_text())["version"])


def compile_contracts(
    contracts_dir: Path | None = None, build_dir: Path | None = None, force: bool = False
) -> dict[str, Artifact]:
    """Compile every contract, or reuse the artifacts when nothing changed.

    Returns the artifacts by contract name. Raises :class:`ChainError` with the compiler's
    formatted messages when compilation fails.
    """
    root = project_root()
    contracts_dir = contracts_dir or root / "contracts"
    build_dir = build_dir or root / "build" / "contracts"
    sources = _sources(contracts_dir)
    digest = _digest(sources)
    stamp = build_dir / ".source-hash"
    if not force and stamp.is_file() and stamp.read_text() == digest:
        return _load_all(build_dir)
    if shutil.which("node") is None:
        raise ChainError("node is not on PATH; the Solidity compiler (solc-js) needs Node.js")

    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SOLC_SETTINGS,
    }
    with tempfile.TemporaryDirectory() as tmp:
        out_file = Path(tmp) / "out.json"
        proc = subprocess.run(
            ["node", str(_COMPILER_SCRIPT), str(out_file), str(root)],
            input=json.dumps(standard_input),
            text=True,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0 or not out_file.is_file():
            raise ChainError(f"solc-js failed to run: {proc.stderr.strip()[-2000:]}")
        output = json.loads(out_file.read_text())
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ChainError("Solidity compilation failed:\n" + "\n".join(
            e.get("formattedMessage", e.get("message", "")) for e in errors))

    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    own = {name for name in sources}
    artifacts: dict[str, Artifact] = {}
    for source_name, contracts in output.get("contracts", {}).items():
        if source_name not in own:
            continue  # libraries pulled in by import are embedded, not deployed on their own
        for name, data in contracts.items():
            artifact = Artifact(
                name=name,
                abi=data["abi"],
                bytecode="0x" + data["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
                source_hash=hashlib.sha256(sources[source_name].encode()).hexdigest(),
            )
            artifacts[name] = artifact
            (build_dir / f"{name}.json").write_text(json.dumps(artifact.__dict__, indent=1))
    stamp.write_text(digest)
    return artifacts


def _load_all(build_dir: Path) -> dict[str, Artifact]:
    return {p.stem: Artifact(**json.loads(p.read_text())) for p in sorted(build_dir.glob("*.json"))}


def load_artifact(name: str, build_dir: Path | None = None) -> Artifact:
    """Load one contract's artifact, compiling first if the build folder is stale or missing."""
    artifacts = compile_contracts(build_dir=build_dir)
    if name not in artifacts:
        have = ", ".join(sorted(artifacts))
        raise ChainError(f"no compiled contract named {name!r} (have: {have})")
    return artifacts[name]


def _main() -> int:
    """``python -m fedmarket.chain.compile``: compile (if stale) and list contract sizes."""
    import sys

    try:
        artifacts = compile_contracts()
    except ChainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for contract in artifacts.values():
        print(f"{contract.name}: {len(contract.deployed_bytecode) // 2 - 1} bytes deployed")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
