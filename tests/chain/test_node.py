from pathlib import Path

import pytest

from fedmarket.chain.client import ChainClient, connect, dev_account
from fedmarket.chain.node import LocalNode, free_port
from fedmarket.errors import ChainError


def test_node_restart_keeps_balances_and_blocks(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "chain")
    node.start()
    try:
        w3 = connect(node.url)
        receiver = dev_account(7).address
        before = w3.eth.get_balance(receiver)
        ChainClient(w3, dev_account(0)).transfer(receiver, 12345)
        head = w3.eth.block_number
    finally:
        node.stop()

    restarted = LocalNode(tmp_path / "chain")
    restarted.start()
    try:
        w3 = connect(restarted.url)
        assert w3.eth.get_balance(receiver) == before + 12345
        assert w3.eth.block_number >= head
    finally:
        restarted.stop()


def test_node_listens_on_the_requested_port_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    node = LocalNode(tmp_path / "chain", port=port)
    info = node.start()
    try:
        assert info.url == f"http://127.0.0.1:{port}"
        assert connect(info.url).eth.chain_id == 31337
    finally:
        node.stop()


def test_node_refuses_a_second_start_for_the_same_folder(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "chain")
    node.start()
    try:
        with pytest.raises(ChainError, match="already running"):
            LocalNode(tmp_path / "chain").start()
    finally:
        node.stop()


def test_node_refuses_a_port_in_use(tmp_path: Path) -> None:
    first = LocalNode(tmp_path / "a")
    info = first.start()
    try:
        with pytest.raises(ChainError, match="already in use"):
            LocalNode(tmp_path / "b", port=info.port).start()
    finally:
        first.stop()


def test_stop_without_a_node_reports_nothing_stopped(tmp_path: Path) -> None:
    assert LocalNode(tmp_path / "chain").stop() is False


def test_node_restarts_at_once_on_the_same_port_with_state(tmp_path: Path) -> None:
    """Up, down, up on one port must not wait out the old node's TIME_WAIT sockets."""
    port = free_port()
    node = LocalNode(tmp_path / "chain", port=port)
    node.start()
    try:
        w3 = connect(node.url)
        receiver = dev_account(8).address
        before = w3.eth.get_balance(receiver)
        ChainClient(w3, dev_account(0)).transfer(receiver, 777)
    finally:
        node.stop()

    again = LocalNode(tmp_path / "chain", port=port)
    info = again.start()
    try:
        assert info.port == port
        assert connect(info.url).eth.get_balance(receiver) == before + 777
    finally:
        again.stop()
