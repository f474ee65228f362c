"""A tiny Solidity fixture for testing the chain toolchain independently of the real contracts."""

PING_SOL = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test fixture: a counter with a custom error carrying values.
contract Ping {
    error PingTooLow(uint256 got, uint256 minimum);
    event Pinged(address indexed who, uint256 value);
    uint256 public last;

    /// @notice Store x if it is at least 3.
    function ping(uint256 x) external {
        if (x < 3) revert PingTooLow(x, 3);
        last = x;
        emit Pinged(msg.sender, x);
    }

    /// @notice Always fails with a plain require message.
    function fail() external pure {
        require(false, "plain message");
    }
}
"""
