// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test stand-in for a generated RoundPayoutVerifier: it accepts exactly one proof and
/// four public inputs, so a test can assert that RoundProofs hands the verifier precisely the
/// inputs it should (the statement packing pool and nActive, r and h it computed itself). The expected vector is set
/// with `expect` (RoundProofs wires its verifiers at deployment, before any test round exists).
/// Test-only: deployed by tests/contracts, never by fedmarket.chain.deploy.
contract ExpectedInputsVerifier {
    bytes32 private _expected;

    /// @notice Accept only this proof with these inputs from now on.
    function expect(uint256[2] calldata pA, uint256[2][2] calldata pB, uint256[2] calldata pC,
        uint256[4] calldata inputs) external
    {
        _expected = keccak256(abi.encode(pA, pB, pC, inputs));
    }

    /// @notice True iff the proof and inputs are the expected ones.
    function verifyProof(uint256[2] calldata _pA, uint256[2][2] calldata _pB,
        uint256[2] calldata _pC, uint256[4] calldata _pubSignals) external view returns (bool)
    {
        return keccak256(abi.encode(_pA, _pB, _pC, _pubSignals)) == _expected;
    }
}
