"""Every contract custom error has a sentence, and each sentence fits its error's arguments.

A contract change that adds an error (or renames an argument) fails here until
``fedmarket/chain/error_messages.py`` describes it, so users never meet a raw error name.
"""

import string

from fedmarket.chain.error_messages import ENUMS, MESSAGES, describe_revert
from fedmarket.chain.errors_abi import error_params
from fedmarket.errors import ContractRevert


def _fields(template: str) -> list[tuple[str, str]]:
    return [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template)
            if name is not None]


def test_every_custom_error_of_the_compiled_contracts_has_a_sentence() -> None:
    missing = sorted(set(error_params()) - set(MESSAGES))

    assert missing == [], f"describe these contract errors in error_messages.MESSAGES: {missing}"


def test_no_sentence_describes_an_error_the_contracts_no_longer_have() -> None:
    assert sorted(set(MESSAGES) - set(error_params())) == []


def test_every_sentence_names_only_arguments_its_error_has_with_known_formats() -> None:
    params = error_params()
    wrong = []
    for name, template in MESSAGES.items():
        declared = {p.name: p.type for p in params.get(name, ())}
        for field, spec in _fields(template):
            if field not in declared or spec not in ("", "eth", "time"):
                wrong.append(f"{name}: {{{field}:{spec}}}")
            elif spec and not declared[field].startswith("uint"):
                wrong.append(f"{name}: {field} is {declared[field]}, not an amount or time")

    assert wrong == []


def test_every_enum_in_an_error_argument_is_rendered_by_name() -> None:
    enums = {p.internal_type.rsplit(".", 1)[-1] for ps in error_params().values() for p in ps
             if p.internal_type.startswith("enum ")}

    assert enums - set(ENUMS) == set()


def test_a_decoded_error_reads_as_a_sentence_with_enum_names_and_ether() -> None:
    rounds_remain = ContractRevert("FedMarketRoundsRemain", (5, 1, 2, 4), "FedMarket")
    wrong_bond = ContractRevert("FedMarketWrongBond", (3, 10**17, 10**18), "FedMarket")

    assert describe_revert(rounds_remain) == (
        "project 5 cannot be finished yet: it is in round 1 of 2 (phase verify) and finishes "
        "once its last round closes [FedMarketRoundsRemain]")
    assert describe_revert(wrong_bond) == (
        "project 3 needs an aggregator bond of exactly 1 ETH, not 0.1 ETH [FedMarketWrongBond]")


def test_an_error_without_a_sentence_still_shows_its_name_and_arguments() -> None:
    unknown = ContractRevert("FedMarketSomethingNew", (7,), "FedMarket")

    assert describe_revert(unknown) == "FedMarket: FedMarketSomethingNew(7)"
