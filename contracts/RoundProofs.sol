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
    /// @dev Bits of the packed rule parameters (fedmarket/zk/payout.py: 3 flags, 3 x 18).
    uint256 private constant PARAM_BITS = 57;
    /// @dev Largest circuit size: slot indices are one byte, acceptance bits one word.
    uint256 private constant MAX_SIZE = 256;
    /// @dev "No failing slot" in the assembly loops.
    uint256 private constant NONE = type(uint256).max;

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
        // params | nActive << 57 | pool << 64: one public input for three (6.2k gas each).
        // A pool of 2^96 wei or more overflows it and no proof verifies (none can be made).
        uint256 statement = proof.params | (uint256(s.reveals) << PARAM_BITS)
            | (uint256(s.trainerPool) << (PARAM_BITS + 7));
        uint256[4] memory inputs = [proof.measurementsRoot, statement, challenge, binding];
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
    /// rebuilding the posted rewards root: the payout *is* the posted one. A slot has a leaf
    /// when it is paid or rejected (fedmarket.round_result.payout_leaves: a settled zero leaf
    /// records the rejection); an accepted slot paid nothing has none.
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
        uint256 unordered = NONE;
        // In assembly (the loop is most of the gas at 64 slots); n <= 256 amounts below 2^96
        // cannot overflow the sum. A slot has a leaf when amount != 0 or its bit is 0.
        assembly ("memory-safe") {
            let previous := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let slot := calldataload(add(slots.offset, shl(5, i)))
                let trainer := shr(96, slot)
                if iszero(gt(trainer, previous)) {
                    unordered := i
                    break
                }
                previous := trainer
                let amount := and(slot, AMOUNT_MASK)
                sum := add(sum, amount)
                leaves := add(leaves, or(iszero(iszero(amount)), iszero(and(shr(i, bits), 1))))
            }
        }
        if (unordered != NONE) revert ProofsSlotsNotAscending(unordered);
        if (sum != s.totalRewarded) revert ProofsTotalMismatch(s.totalRewarded, sum);
        bytes32 root = _rewardsRoot(project, round, slots, bits, payout.treeOrder, leaves);
        if (root != s.rewardsRoot) revert ProofsRewardsRootMismatch(s.rewardsRoot, root);
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
        uint256 failure; // 0 none, 1 not a leaf, 2 not ascending (at position k, slot i)
        uint256 k;
        uint256 i;
        bytes32 root;
        // In assembly, like the slot loop: every index is below 2m - 1 by construction (m >= 1)
        // and the checks cost more than the hashing. Leaf k of the sorted list goes to node
        // 2m-2-k; a leaf is RewardLeaf.hash (keccak of keccak of abi.encode(project, round,
        // trainer, amount)), hashed at the free memory pointer without allocating.
        assembly ("memory-safe") {
            let n := slots.length
            let p := mload(0x40)
            let previous := 0
            for {} lt(k, m) { k := add(k, 1) } {
                i := byte(0, calldataload(add(order.offset, k)))
                if iszero(lt(i, n)) {
                    failure := 1
                    break
                }
                let slot := calldataload(add(slots.offset, shl(5, i)))
                let amount := and(slot, AMOUNT_MASK)
                if and(iszero(amount), and(shr(i, bits), 1)) {
                    failure := 1
                    break
                }
                mstore(p, project)
                mstore(add(p, 0x20), round)
                mstore(add(p, 0x40), shr(96, slot))
                mstore(add(p, 0x60), amount)
                mstore(0x00, keccak256(p, 0x80))
                let leaf := keccak256(0x00, 0x20)
                if and(gt(k, 0), iszero(gt(leaf, previous))) {
                    failure := 2
                    break
                }
                previous := leaf
                mstore(add(tree, shl(5, sub(shl(1, m), add(k, 1)))), leaf)
            }
        }
        if (failure == 1) revert ProofsNotALeaf(k, i);
        if (failure == 2) revert ProofsTreeOrderNotAscending(k);
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
        assembly ("memory-safe") {
            for { let i := slots.length } gt(i, 0) {} {
                i := sub(i, 1)
                let slot := calldataload(add(slots.offset, shl(5, i)))
                h := addmod(mulmod(h, r, R), shr(96, slot), R)
                let value := add(shl(1, and(slot, AMOUNT_MASK)), and(shr(i, bits), 1))
                h := addmod(mulmod(h, r, R), value, R)
            }
        }
    }

    /// @dev Whether every coordinate of the proof's three points is below q, the measurements
    /// root below R and the parameters within their 57 bits.
    function _canonical(RoundProof calldata proof) private pure returns (bool) {
        return proof.pA[0] < Q && proof.pA[1] < Q && proof.pC[0] < Q && proof.pC[1] < Q
            && proof.pB[0][0] < Q && proof.pB[0][1] < Q && proof.pB[1][0] < Q
            && proof.pB[1][1] < Q && proof.measurementsRoot < R && proof.params >> PARAM_BITS == 0;
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
