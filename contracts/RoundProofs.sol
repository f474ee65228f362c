// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedMarket} from "./interfaces/IFedMarket.sol";
import {IRoundProofs} from "./interfaces/IRoundProofs.sol";
import {ProjectId} from "./libraries/Ids.sol";
import {IRoundPayoutVerifier} from "./zk/IRoundPayoutVerifier.sol";

/// @title RoundProofs
/// @notice Checks payout proofs against the market's state and records the valid ones.
/// @dev Holds no ether and no roles. Every public input but the two the claim fixes comes from
/// the market or from the payout calldata, and the payout must rebuild the posted rewards
/// root and total, so a proof can only be about the round as posted: the payout binding
/// (r, h) of fedmarket/zk/binding.py ties the circuit's amounts to the tree's.
contract RoundProofs is IRoundProofs {
    /// @dev Gas handed to the proof verifier (it needs ~220k and returns false, not revert,
    /// when the pairing precompile runs dry, so it must never get less than this).
    uint256 private constant PROOF_GAS = 300_000;
    /// @dev BN254 base field modulus: every proof coordinate must be below it.
    uint256 private constant Q =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @dev BN254 scalar field modulus: public inputs, r and h live below it.
    uint256 private constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev A slot packs `trainer << 96 | amount`.
    uint256 private constant AMOUNT_MASK = (1 << 96) - 1;
    /// @dev Largest circuit size: slot indices are one byte, acceptance bits one word.
    uint256 private constant MAX_SIZE = 256;

    /// @notice The market whose rounds are proven.
    IFedMarket public immutable market;

    mapping(uint256 size => address) private _verifiers;
    mapping(ProjectId project => mapping(uint256 round => bool)) private _verified;

    /// @param market_ The market.
    /// @param verifiers Generated payout verifiers (none: proofs unsupported).
    /// @param sizes The circuit size N of each verifier, in the same order.
    constructor(IFedMarket market_, address[] memory verifiers, uint256[] memory sizes) {
        if (verifiers.length != sizes.length) revert ProofsBadVerifierSizes();
        market = market_;
        for (uint256 i = 0; i < sizes.length; ++i) {
            uint256 size = sizes[i];
            if (size == 0 || size > MAX_SIZE || _verifiers[size] != address(0)
                || verifiers[i] == address(0)) revert ProofsBadVerifierSizes();
            _verifiers[size] = verifiers[i];
            emit VerifierWired(size, verifiers[i]);
        }
    }

    /// @inheritdoc IRoundProofs
    function submitProof(ProjectId project, uint256 round, RoundProof calldata proof,
        Payout calldata payout) external
    {
        address verifier = _verifiers[proof.size];
        if (verifier == address(0)) revert ProofsNoVerifier(proof.size);
        if (_verified[project][round]) revert ProofsAlreadyVerified(project, round);
        IFedMarket.RoundProofState memory s = market.getRoundProof(project, round);
        if (s.status != IFedMarket.RoundStatus.Posted) revert ProofsRoundNotPosted(project, round);
        if (block.timestamp > s.verifyDeadline) {
            revert ProofsWindowClosed(project, round, s.verifyDeadline);
        }
        if (s.claim == bytes32(0)) revert ProofsNoClaim(project, round);
        // Canonical encodings only: a malleated copy (y + q, root + R) of a genuine proof must
        // not be recordable before the genuine one, or the audit (py-ecc) would fail the round.
        if (!_canonical(proof)) revert ProofsNonCanonical(project, round);
        bytes32 given = keccak256(abi.encode(proof.measurementsRoot, proof.params));
        if (given != s.claim) revert ProofsClaimMismatch(project, round, s.claim, given);
        if (s.reveals > proof.size) revert ProofsRoundTooLarge(s.reveals, proof.size);
        _checkPayout(project, round, payout, s);
        uint256 challenge = _challenge(project, round, proof.measurementsRoot, payout);
        uint256 binding = _binding(payout, challenge);
        uint256[6] memory inputs = [proof.measurementsRoot, proof.params,
            uint256(s.trainerPool), uint256(s.reveals), challenge, binding];
        // A call gets at most 63/64 of what is left: make sure that is the full allowance.
        uint256 needed = PROOF_GAS + PROOF_GAS / 63 + 5_000;
        if (gasleft() < needed) revert ProofsGasTooLow(gasleft(), needed);
        if (!IRoundPayoutVerifier(verifier).verifyProof{gas: PROOF_GAS}(proof.pA, proof.pB,
            proof.pC, inputs)) revert ProofsRejected(project, round);
        _verified[project][round] = true;
        emit RoundProofVerified(project, round, msg.sender, proof, challenge, binding);
    }

    /// @dev One slot per revealed trainer, strictly ascending trainers (so each trainer once),
    /// no acceptance bit beyond the slots, amounts summing to the posted total and leaves
    /// rebuilding the posted rewards root: the payout *is* the posted one.
    function _checkPayout(ProjectId project, uint256 round, Payout calldata payout,
        IFedMarket.RoundProofState memory s) private pure
    {
        uint256[] calldata slots = payout.slots;
        uint256 n = slots.length;
        if (n != s.reveals) revert ProofsWrongSlotCount(n, s.reveals);
        uint256 bits = payout.acceptedBits;
        if (bits >> n != 0) revert ProofsStrayAcceptedBits(bits, n);
        uint256 sum;
        uint256 leaves;
        uint256 previous;
        // Unchecked: n <= 256 amounts below 2^96 cannot overflow the sum.
        unchecked {
            for (uint256 i = 0; i < n; ++i) {
                uint256 slot = slots[i];
                uint256 trainer = slot >> 96;
                if (trainer <= previous) revert ProofsSlotsNotAscending(i);
                previous = trainer;
                sum += slot & AMOUNT_MASK;
                if (_hasLeaf(slot, bits, i)) ++leaves;
            }
        }
        if (sum != s.totalRewarded) revert ProofsTotalMismatch(s.totalRewarded, sum);
        bytes32 root = _rewardsRoot(project, round, slots, bits, payout.treeOrder, leaves);
        if (root != s.rewardsRoot) revert ProofsRewardsRootMismatch(s.rewardsRoot, root);
    }

    /// @dev fedmarket.round_result.payout_leaves: a paid slot or a rejected one has a leaf (a
    /// settled zero leaf records the rejection); an accepted slot paid nothing has none.
    function _hasLeaf(uint256 slot, uint256 bits, uint256 i) private pure returns (bool) {
        return slot & AMOUNT_MASK != 0 || (bits >> i) & 1 == 0;
    }

    /// @dev The OpenZeppelin standard tree over the leaves in `order` (fedmarket/merkle.py):
    /// leaf k of the hash-sorted list at node 2m-2-k, node i = sorted-pair hash of 2i+1, 2i+2,
    /// the zero root without leaves. Strictly ascending hashes make the listed slots distinct;
    /// with the count equal to `expected`, they are exactly the slots that have a leaf.
    function _rewardsRoot(ProjectId project, uint256 round, uint256[] calldata slots,
        uint256 bits, bytes calldata order, uint256 expected) private pure returns (bytes32)
    {
        uint256 m = order.length;
        if (m != expected) revert ProofsLeafCount(m, expected);
        if (m == 0) return bytes32(0);
        bytes32[] memory tree = new bytes32[](2 * m - 1);
        bytes32 previous;
        // Unchecked, and the tree read and written in assembly: every index is below 2m - 1 by
        // construction (m >= 1), and the checks cost more than the hashing at 64 leaves.
        unchecked {
            for (uint256 k = 0; k < m; ++k) {
                uint256 i = uint8(order[k]);
                if (i >= slots.length || !_hasLeaf(slots[i], bits, i)) {
                    revert ProofsNotALeaf(k, i);
                }
                bytes32 leaf = _leaf(project, round, slots[i]);
                if (k > 0 && leaf <= previous) revert ProofsTreeOrderNotAscending(k);
                previous = leaf;
                assembly ("memory-safe") {
                    mstore(add(tree, shl(5, sub(shl(1, m), add(k, 1)))), leaf)
                }
            }
        }
        bytes32 root;
        assembly ("memory-safe") {
            // node j (1-based word j + 1 of the array) = sorted-pair hash of 2j+1 and 2j+2
            for { let j := sub(m, 1) } gt(j, 0) {} {
                j := sub(j, 1)
                let a := mload(add(tree, shl(5, add(shl(1, j), 2))))
                let b := mload(add(tree, shl(5, add(shl(1, j), 3))))
                switch lt(a, b)
                case 1 { mstore(0x00, a) mstore(0x20, b) }
                default { mstore(0x00, b) mstore(0x20, a) }
                mstore(add(tree, shl(5, add(j, 1))), keccak256(0x00, 0x40))
            }
            root := mload(add(tree, 0x20))
        }
        return root;
    }

    /// @dev RewardLeaf.hash of a slot, hashed in scratch memory (RewardLeaf allocates twice
    /// per leaf); test_proofs checks every rebuilt root against fedmarket.merkle.
    function _leaf(ProjectId project, uint256 round, uint256 slot)
        private
        pure
        returns (bytes32 leaf)
    {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, project)
            mstore(add(p, 0x20), round)
            mstore(add(p, 0x40), shr(96, slot))
            mstore(add(p, 0x60), and(slot, AMOUNT_MASK))
            mstore(0x00, keccak256(p, 0x80))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @dev r = keccak256(abi.encode(project, round, measurementsRoot, address[] trainers,
    /// uint256[] amounts, acceptedBits)) mod R, as fedmarket.zk.binding.payout_challenge; the
    /// encoding is written in place (unpacking the slots) rather than built as two arrays.
    function _challenge(ProjectId project, uint256 round, uint256 measurementsRoot,
        Payout calldata payout) private pure returns (uint256 r)
    {
        uint256[] calldata slots = payout.slots;
        uint256 bits = payout.acceptedBits;
        assembly ("memory-safe") {
            let n := slots.length
            let p := mload(0x40)
            let amounts := add(0xe0, shl(5, n)) // offset of amounts[]: 6 head words + trainers[]
            mstore(p, project)
            mstore(add(p, 0x20), round)
            mstore(add(p, 0x40), measurementsRoot)
            mstore(add(p, 0x60), 0xc0)
            mstore(add(p, 0x80), amounts)
            mstore(add(p, 0xa0), bits)
            mstore(add(p, 0xc0), n)
            mstore(add(p, amounts), n)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let slot := calldataload(add(slots.offset, shl(5, i)))
                mstore(add(p, add(0xe0, shl(5, i))), shr(96, slot))
                mstore(add(p, add(amounts, add(0x20, shl(5, i)))), and(slot, AMOUNT_MASK))
            }
            r := mod(keccak256(p, add(0x100, shl(6, n))), R)
        }
    }

    /// @dev h = sum_i ((2 amount_i + accepted_i) r^(2i) + trainer_i r^(2i+1)) mod R, as
    /// fedmarket.zk.binding (Horner from the top coefficient, trainer_{n-1}, down). Binding the
    /// trainers too keeps a slot without a leaf (accepted, paid 0) from being proven for
    /// another address.
    function _binding(Payout calldata payout, uint256 r) private pure returns (uint256 h) {
        uint256[] calldata slots = payout.slots;
        uint256 bits = payout.acceptedBits;
        unchecked {
            for (uint256 i = slots.length; i > 0;) {
                --i;
                uint256 slot = slots[i];
                h = addmod(mulmod(h, r, R), slot >> 96, R);
                h = addmod(mulmod(h, r, R), 2 * (slot & AMOUNT_MASK) + ((bits >> i) & 1), R);
            }
        }
    }

    /// @dev Whether every coordinate of the proof's three points is below q and both claimed
    /// inputs below R.
    function _canonical(RoundProof calldata proof) private pure returns (bool) {
        return proof.pA[0] < Q && proof.pA[1] < Q && proof.pC[0] < Q && proof.pC[1] < Q
            && proof.pB[0][0] < Q && proof.pB[0][1] < Q && proof.pB[1][0] < Q
            && proof.pB[1][1] < Q && proof.measurementsRoot < R && proof.params < R;
    }

    /// @inheritdoc IRoundProofs
    function isVerified(ProjectId project, uint256 round) external view returns (bool) {
        return _verified[project][round];
    }

    /// @inheritdoc IRoundProofs
    function verifierFor(uint256 size) external view returns (address) {
        return _verifiers[size];
    }
}
