// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProjectId} from "./Ids.sol";

/// @title The reward leaf of the OpenZeppelin standard Merkle tree.
/// @notice Leaf values `(uint256 project, uint256 round, address trainer, uint256 amount)`,
/// hashed twice as OpenZeppelin merkle-tree's StandardMerkleTree does (the double hash keeps
/// a 64-byte inner node from ever passing as a leaf). `fedmarket.merkle` builds the same tree.
library RewardLeaf {
    /// @notice The leaf hash of `trainer`'s `amount` in `round` of `project`.
    function hash(ProjectId project, uint256 round, address trainer, uint256 amount)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(project, round, trainer, amount))));
    }
}
