from pathlib import Path

import pytest

from fedmarket.chain.client import ChainClient
from fedmarket.chain.compile import Artifact, compile_contracts
from fedmarket.chain.errors_abi import decode_revert
from fedmarket.errors import ContractRevert
from tests.chain.sol_fixtures import PING_SOL


@pytest.fixture(scope="module")
def ping_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    root = tmp_path_factory.mktemp("ping")
    (root / "contracts").mkdir()
    (root / "contracts" / "Ping.sol").write_text(PING_SOL)
    return compile_contracts(root / "contracts", root / "build")


def test_transact_raises_decoded_custom_error_with_arguments(client_for, ping_artifacts) -> None:
    client = ChainClient(client_for(1).w3, client_for(1).account, artifacts=ping_artifacts)
    ping, _ = client.deploy("Ping")

    with pytest.raises(ContractRevert) as caught:
        ping.transact("ping", 2)

    assert caught.value.name == "PingTooLow"
    assert caught.value.args_decoded == (2, 3)
    assert str(caught.value) == "Ping: PingTooLow(2, 3)"


def test_transact_returns_receipt_and_events_on_success(client_for, ping_artifacts) -> None:
    client = ChainClient(client_for(1).w3, client_for(1).account, artifacts=ping_artifacts)
    ping, _ = client.deploy("Ping")

    receipt = ping.transact("ping", 5)

    assert receipt["status"] == 1
    assert ping.call("last") == 5
    assert ping.events("Pinged", receipt) == [{"who": client.address, "value": 5}]


def test_require_message_is_decoded_as_error_string(client_for, ping_artifacts) -> None:
    client = ChainClient(client_for(1).w3, client_for(1).account, artifacts=ping_artifacts)
    ping, _ = client.deploy("Ping")

    with pytest.raises(ContractRevert, match=r"Error\(plain message\)"):
        ping.call("fail")


def test_unknown_selector_is_reported_with_its_raw_data() -> None:
    err = decode_revert("0xdeadbeef00", "X", abi=[])

    assert err.name == "UnknownError"
    assert "0xdeadbeef00" in str(err)


def test_panic_code_is_explained() -> None:
    data = bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")

    err = decode_revert(data, abi=[])

    assert err.name == "Panic"
    assert "overflow" in str(err)


def test_empty_revert_data_is_a_plain_revert() -> None:
    assert decode_revert(b"").name == "Reverted"


def test_tmp_path_is_not_shared(tmp_path: Path) -> None:
    assert not any(tmp_path.iterdir())


def test_a_transaction_reverting_after_a_passing_simulation_is_decoded(
    client_for, ping_artifacts
) -> None:
    """The race of two keepers: simulation passed, then another tx changed the state."""
    client = ChainClient(client_for(1).w3, client_for(1).account, artifacts=ping_artifacts)
    ping, _ = client.deploy("Ping")
    call = ping.contract.functions.ping(1)

    class FirstSimulationPasses:
        calls = 0

        def estimate_gas(self, *args: object, **kwargs: object) -> int:
            self.calls += 1
            if self.calls == 1:
                return 60_000  # what a stale simulation would have said
            return call.estimate_gas(*args, **kwargs)  # type: ignore[arg-type]

        def build_transaction(self, tx: dict) -> dict:
            return call.build_transaction(tx)

    with pytest.raises(ContractRevert) as caught:
        client.send(FirstSimulationPasses(), label="Ping.ping", abi=ping.contract.abi)

    assert caught.value.name == "PingTooLow"
