import pytest

from fedmarket.merkle import REWARD_LEAF_ENCODING, StandardMerkleTree, reward_tree, verify

# From OpenZeppelin/merkle-tree test/dumps/standard-v1.sorted.1_0_6.json (values "a".."f").
OZ_ROOT = "0x6deb52b5da8fd108f79fab00341f38d2587896634c646ee52e49f845680a70c8"
OZ_TREE_INDEX = [8, 10, 7, 5, 9, 6]

ALICE = "0x1111111111111111111111111111111111111111"
BOB = "0x2222222222222222222222222222222222222222"
CAROL = "0x3333333333333333333333333333333333333333"


def test_matches_openzeppelin_vector():
    tree = StandardMerkleTree([[c] for c in "abcdef"], ["string"])
    dump = tree.dump()
    assert tree.root_hex == OZ_ROOT
    assert [v["treeIndex"] for v in dump["values"]] == OZ_TREE_INDEX
    assert dump["tree"][8] == "0x9c15a6a0eaeed500fd9eed4cbeab71f797cefcc67bfd46683e4d2e6ff7f06d1c"


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_every_proof_verifies(n):
    addrs = [ALICE, BOB, CAROL, *[f"0x{i:040x}" for i in range(4, 9)]][:n]
    tree = reward_tree(7, 3, [(a, 10 + i) for i, a in enumerate(addrs)])
    assert tree is not None
    for i in range(n):
        assert verify(tree.root, tree.values[i], tree.proof(i), REWARD_LEAF_ENCODING)
        assert tree.verify(i, ["0x" + p.hex() for p in tree.proof(i)])


def test_wrong_amount_fails():
    tree = reward_tree(7, 3, [(ALICE, 5), (BOB, 6)])
    assert tree is not None
    assert not verify(tree.root, (7, 3, ALICE, 6), tree.proof(0))


def test_zero_amounts_are_kept_so_rejections_can_be_settled():
    assert reward_tree(1, 0, []) is None
    tree = reward_tree(1, 0, [(ALICE, 0), (BOB, 3)])
    assert tree is not None and len(tree.values) == 2
    zero = next(i for i, v in enumerate(tree.values) if v[3] == 0)
    assert tree.verify(zero, tree.proof(zero))


def test_empty_tree_raises():
    with pytest.raises(ValueError, match="non-zero number of leaves"):
        StandardMerkleTree([], ["uint256"])
