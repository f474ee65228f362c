// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A project's id (1, 2, ...): a distinct type so it is never mixed up with a round
/// number or an amount. In the ABI it is a plain uint256.
type ProjectId is uint256;
