from aggregator import contribution, rules
from fedmarket.modelspec import AGGREGATION_RULES, SCORING_METHODS


def test_every_rule_a_spec_accepts_is_registered_by_the_aggregator() -> None:
    assert sorted(AGGREGATION_RULES) == rules.names()


def test_every_scoring_method_a_spec_accepts_is_registered_by_the_aggregator() -> None:
    assert sorted(SCORING_METHODS) == contribution.names()
