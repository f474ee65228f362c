// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Hostile payee for tests: acts as any participant through `execute`, and when paid
/// calls `reentryTarget` with `reentryData` once, recording whether the re-entry succeeded.
contract Reenterer {
    address public reentryTarget;
    bytes public reentryData;
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryError;
    uint256 public received;

    /// @notice Arm the re-entry performed on the next payment.
    function arm(address target, bytes calldata data) external {
        reentryTarget = target;
        reentryData = data;
        reentryAttempted = false;
    }

    /// @notice Call `target` with `data` and `msg.value` as this contract; bubbles reverts up.
    function execute(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        received += msg.value;
        if (reentryTarget == address(0) || reentryAttempted) return;
        reentryAttempted = true;
        (bool ok, bytes memory ret) = reentryTarget.call(reentryData);
        reentrySucceeded = ok;
        reentryError = ret;
    }
}
