// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "../libraries/Ids.sol";

/// @title Groth16 payout proofs of posted fedmarket rounds, checked and recorded.
/// @notice Kept apart from the market so that the market stays under the EVM's code-size
/// limit; it reads the round's pool, reveals, rewards root, total and posted proof claim from
/// the market. Anyone may submit, until the round's verify deadline; the first valid proof of
/// a round is recorded, and the market finalizes a round that claimed a proof only once it is.
interface IRoundProofs {
    /// @notice A Groth16 payout proof and the two public inputs the chain cannot derive.
    /// @dev pool (pool minus the verifier fee) and nActive (the round's reveals) come from the
    /// market; r and h from the payout (see `Payout`); measurementsRoot and params must hash to
    /// the round's posted `proofClaim`: `keccak256(abi.encode(measurementsRoot, params))`.
    struct RoundProof {
        uint256[2] pA;
        uint256[2][2] pB; // G2 in the EVM's order: [[x.c1, x.c0], [y.c1, y.c0]]
        uint256[2] pC;
        uint256 measurementsRoot;
        uint256 params;
        uint256 size; // the circuit size N the proof is for (picks the verifier)
    }

    /// @notice The round's payout, slot by slot, as the proof and the rewards tree see it.
    /// @dev `slots[i] = uint256(uint160(trainer_i)) << 96 | amount_i`, strictly ascending by
    /// trainer (one slot per revealed trainer; packing halves the calldata and bounds every
    /// amount below 2^96). Bit i of `acceptedBits` is slot i's acceptance. `treeOrder` lists,
    /// one byte each, the slots that have a rewards leaf (amount > 0 or not accepted), sorted
    /// by leaf hash: the order of the leaves in the posted tree.
    struct Payout {
        uint256[] slots;
        uint256 acceptedBits;
        bytes treeOrder;
    }

    /// @notice No verifier of circuit size `size` is wired in this deployment.
    error ProofsNoVerifier(uint256 size);
    /// @notice Constructor: `verifiers` and `sizes` differ in length, or a size is 0, above
    /// 256 (slot indices are one byte, acceptance bits one word) or given twice.
    error ProofsBadVerifierSizes();
    /// @notice The proof does not verify for the round's public inputs.
    error ProofsRejected(ProjectId project, uint256 round);
    /// @notice The round has no result awaiting its verdict (not posted, or already settled).
    error ProofsRoundNotPosted(ProjectId project, uint256 round);
    /// @notice The round's verify window ended: an unproven claim now disputes the round.
    error ProofsWindowClosed(ProjectId project, uint256 round, uint256 deadline);
    /// @notice A proof of the round was already recorded.
    error ProofsAlreadyVerified(ProjectId project, uint256 round);
    /// @notice The round's result offered no proof (its proofClaim is zero).
    error ProofsNoClaim(ProjectId project, uint256 round);
    /// @notice measurementsRoot and params do not hash to the posted proofClaim.
    error ProofsClaimMismatch(ProjectId project, uint256 round, bytes32 claimed, bytes32 given);
    /// @notice A proof coordinate is not below the base field modulus q, or measurementsRoot or
    /// params not below the scalar field modulus: such an encoding could pass the generated
    /// verifier while the off-chain verifier refuses it, so only canonical encodings count.
    error ProofsNonCanonical(ProjectId project, uint256 round);
    /// @notice The round has more revealed trainers than the proof's circuit has slots.
    error ProofsRoundTooLarge(uint256 reveals, uint256 size);
    /// @notice The payout has not one slot per revealed trainer.
    error ProofsWrongSlotCount(uint256 slots, uint256 reveals);
    /// @notice Slot `slot`'s trainer is not above the previous slot's (order, or a duplicate).
    error ProofsSlotsNotAscending(uint256 slot);
    /// @notice `acceptedBits` has a bit set at or above the slot count.
    error ProofsStrayAcceptedBits(uint256 acceptedBits, uint256 slots);
    /// @notice The amounts do not sum to the round's posted total.
    error ProofsTotalMismatch(uint256 posted, uint256 sum);
    /// @notice Position `position` of the tree order names a slot without a leaf (out of range,
    /// or accepted with amount 0).
    error ProofsNotALeaf(uint256 position, uint256 slot);
    /// @notice The leaf at `position` of the tree order does not hash above the previous one.
    error ProofsTreeOrderNotAscending(uint256 position);
    /// @notice The tree order lists `listed` leaves; `expected` slots have one.
    error ProofsLeafCount(uint256 listed, uint256 expected);
    /// @notice The tree rebuilt from the payout is not the round's posted rewards root.
    error ProofsRewardsRootMismatch(bytes32 posted, bytes32 rebuilt);
    /// @notice Too little gas was sent for the verifier's fixed allowance.
    error ProofsGasTooLow(uint256 gasLeft, uint256 needed);

    /// @notice The deployment checks proofs of circuit size `size` with `verifier`.
    event VerifierWired(uint256 indexed size, address verifier);
    /// @notice A valid proof of the round was recorded; `challenge` (r) and `binding` (h) are
    /// the payout binding it was checked with (fedmarket/zk/binding.py), so an audit can
    /// re-check the proof from this event and the posted result alone.
    event RoundProofVerified(ProjectId indexed project, uint256 indexed round,
        address indexed prover, RoundProof proof, uint256 challenge, uint256 binding);

    /// @notice Anyone, while the round's verify window is open: check a payout proof of a
    /// posted round with the verifier of `proof.size` (public inputs `[measurementsRoot,
    /// params | reveals << 57 | (pool - fee) << 64, r, h]`, r and h computed from `payout`)
    /// after checking that
    /// `payout` rebuilds the posted rewards root and total, and record it. Send at least ~420k
    /// gas: the verifier gets a fixed allowance and false means invalid.
    function submitProof(ProjectId project, uint256 round, RoundProof calldata proof,
        Payout calldata payout) external;

    /// @notice True once a valid proof of the round was recorded.
    function isVerified(ProjectId project, uint256 round) external view returns (bool);

    /// @notice The verifier of circuit size `size` (address(0): none).
    function verifierFor(uint256 size) external view returns (address);
}
