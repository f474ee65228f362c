from pathlib import Path

import pytest

from fedmarket.config import load_settings
from fedmarket.errors import ConfigError


def test_defaults_run_everything_locally(tmp_path: Path) -> None:
    settings = load_settings(env={}, toml_path=tmp_path / "missing.toml")

    assert settings.data_dir == Path(".fedmarket")
    assert settings.rpc_url is None and settings.ipfs_api is None
    assert settings.store_dir == Path(".fedmarket/store")


def test_flags_beat_environment_beat_toml(tmp_path: Path) -> None:
    toml = tmp_path / "fedmarket.toml"
    toml.write_text('account = 1\ndata_dir = "from-toml"\nrpc_url = "http://toml"\n')
    env = {"FEDMARKET_ACCOUNT": "2", "FEDMARKET_DATA_DIR": "from-env"}

    settings = load_settings({"account": 3, "data_dir": None}, env=env, toml_path=toml)

    assert settings.account == 3
    assert settings.data_dir == Path("from-env")
    assert settings.rpc_url == "http://toml"


def test_fedmarket_section_in_toml_is_read(tmp_path: Path) -> None:
    toml = tmp_path / "fedmarket.toml"
    toml.write_text('[fedmarket]\nipfs_api = "http://127.0.0.1:5001"\n')

    assert load_settings(env={}, toml_path=toml).ipfs_api == "http://127.0.0.1:5001"


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FEDMARKET_ACCOUNT"):
        load_settings(env={"FEDMARKET_ACCOUNT": "seven"}, toml_path=tmp_path / "x.toml")


def test_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "fedmarket.toml"
    toml.write_text("acount = 1\n")

    with pytest.raises(ConfigError, match="unknown setting 'acount'"):
        load_settings(env={}, toml_path=toml)


def test_malformed_toml_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "fedmarket.toml"
    toml.write_text("account = \n")

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(env={}, toml_path=toml)


def test_cid_version_must_be_0_or_1(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cid_version"):
        load_settings({"cid_version": 2}, env={}, toml_path=tmp_path / "x.toml")
