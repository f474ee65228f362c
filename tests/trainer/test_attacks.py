import pytest
import torch

from fedmarket.codec import UpdateHeader, encode_update
from fedmarket.errors import ConfigError
from trainer import attacks
from trainer.attacks import AttackContext
from trainer.attacks.alie import z_max
from trainer.local_training import LocalUpdate, train_local


@pytest.fixture
def honest(mlp_spec, mlp_global, digits_train) -> LocalUpdate:
    return train_local(mlp_spec, mlp_global, digits_train, device="cpu", seed=0)


def attacked(name, mlp_spec, mlp_global, data, context=None, **params) -> LocalUpdate:
    return train_local(
        mlp_spec,
        mlp_global,
        data,
        device="cpu",
        seed=0,
        attack=attacks.get(name, **params),
        context=context,
    )


def peers(shapes, k: int = 5) -> list[dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(1)
    return [{n: torch.randn(s, generator=gen) for n, s in shapes.items()} for _ in range(k)]


def same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


def test_registry_lists_every_attack() -> None:
    assert attacks.names() == sorted(
        ["sign_flip", "scaled", "gaussian", "label_flip", "alie", "ipm", "free_rider", "copycat",
         "min_max", "min_sum", "fang_krum", "fang_trmean", "backdoor"]
    )


def test_unknown_attack_and_bad_parameter_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown attack 'sybil'"):
        attacks.get("sybil")
    with pytest.raises(ConfigError, match="attack 'free_rider': free_rider mode must be"):
        attacks.get("free_rider", mode="lazy")


def test_honest_training_has_no_attack(honest) -> None:
    assert honest.attack is None


def test_sign_flip_is_the_negated_honest_update(honest, mlp_spec, mlp_global, digits_train):
    update = attacked("sign_flip", mlp_spec, mlp_global, digits_train)

    assert same(update.delta, {n: -t for n, t in honest.delta.items()})
    assert update.attack == "sign_flip"


def test_scaled_is_factor_times_honest(honest, mlp_spec, mlp_global, digits_train) -> None:
    update = attacked("scaled", mlp_spec, mlp_global, digits_train, factor=4.0)

    assert same(update.delta, {n: 4.0 * t for n, t in honest.delta.items()})


def test_gaussian_is_seeded_noise_of_the_given_std(honest, mlp_spec, mlp_global, digits_train):
    first = attacked("gaussian", mlp_spec, mlp_global, digits_train, std=0.5)
    again = attacked("gaussian", mlp_spec, mlp_global, digits_train, std=0.5)

    noise = torch.cat([t.flatten() for t in first.delta.values()])
    assert same(first.delta, again.delta)
    assert abs(float(noise.std()) - 0.5) < 0.05 and abs(float(noise.mean())) < 0.05


def test_free_rider_submits_zeros_without_training(mlp_spec, mlp_global, digits_train) -> None:
    update = attacked("free_rider", mlp_spec, mlp_global, digits_train)

    assert all(not t.any() for t in update.delta.values())
    assert update.mean_loss is None and update.samples == len(digits_train)


def test_free_rider_global_copies_the_global_model(mlp_spec, mlp_global, digits_train) -> None:
    update = attacked("free_rider", mlp_spec, mlp_global, digits_train, mode="global")

    assert same(update.delta, mlp_global)


def test_copycat_equals_the_copied_update(honest, mlp_spec, mlp_global, digits_train) -> None:
    header = UpdateHeader(
        project=1,
        round=1,
        trainer="0x" + "22" * 20,
        samples=honest.samples,
        spec_hash=mlp_spec.hash(),
    )
    revealed = encode_update(honest.delta, header, mlp_spec)

    update = attacked(
        "copycat",
        mlp_spec,
        mlp_global,
        digits_train,
        context=AttackContext(revealed_update=revealed),
    )

    assert same(update.delta, honest.delta)


def test_copycat_without_a_revealed_update_fails(mlp_spec, mlp_global, digits_train) -> None:
    with pytest.raises(ValueError, match="copycat needs another trainer's revealed update"):
        attacked("copycat", mlp_spec, mlp_global, digits_train)


def test_label_flip_trains_on_flipped_labels(honest, mlp_spec, mlp_global, digits_train) -> None:
    attack = attacks.get("label_flip")
    poisoned = attack.poison_data(digits_train, AttackContext(num_classes=10))

    update = attacked("label_flip", mlp_spec, mlp_global, digits_train)

    assert (poisoned.y == 9 - digits_train.y).all()
    expected = train_local(mlp_spec, mlp_global, poisoned, device="cpu", seed=0)
    assert same(update.delta, expected.delta)
    assert not same(update.delta, honest.delta)


def test_alie_is_mean_minus_z_std_of_peers(mlp_spec) -> None:
    shapes = mlp_spec.param_shapes()
    seen = peers(shapes)
    context = AttackContext(peer_deltas=seen)

    out = attacks.get("alie", z=1.5).apply(seen[0], context)

    for name in shapes:
        stacked = torch.stack([p[name] for p in seen]).double()
        expected = stacked.mean(0) - 1.5 * stacked.std(0, unbiased=False)
        assert torch.allclose(out[name].double(), expected, atol=1e-6)


def test_alie_z_max_follows_the_paper() -> None:
    # n=50, f=12: s = floor(26) - 12 = 14, z = Phi^-1(36/50) ≈ 0.5828
    assert z_max(50, 12) == pytest.approx(0.5828, abs=1e-4)
    alie = attacks.get("alie")
    assert alie.resolve_z(AttackContext(num_trainers=50, num_malicious=12)) == z_max(50, 12)


def test_alie_without_peers_estimates_from_own_data(honest, mlp_spec, mlp_global, digits_train):
    update = attacked("alie", mlp_spec, mlp_global, digits_train, estimates=3)

    assert {n: tuple(t.shape) for n, t in update.delta.items()} == mlp_spec.param_shapes()
    assert not same(update.delta, honest.delta)


def test_ipm_is_minus_epsilon_mean_of_peers(mlp_spec) -> None:
    shapes = mlp_spec.param_shapes()
    seen = peers(shapes)

    out = attacks.get("ipm", epsilon=0.3).apply(seen[0], AttackContext(peer_deltas=seen))

    for name in shapes:
        expected = -0.3 * torch.stack([p[name] for p in seen]).double().mean(0)
        assert torch.allclose(out[name].double(), expected, atol=1e-6)


def test_ipm_without_peers_uses_own_delta(honest, mlp_spec, mlp_global, digits_train) -> None:
    update = attacked("ipm", mlp_spec, mlp_global, digits_train, epsilon=2.0)

    assert all(torch.allclose(update.delta[n], -2.0 * honest.delta[n]) for n in honest.delta)
