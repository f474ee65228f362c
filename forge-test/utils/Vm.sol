// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The few Foundry cheatcodes the invariant fuzz uses, written here rather than pulled
/// from forge-std so that forge runs with nothing fetched. Signatures follow Foundry's cheatcode
/// ABI; forge answers calls to this interface at the HEVM address below.
interface Vm {
    function deal(address account, uint256 newBalance) external;
    function prank(address sender) external;
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function getNonce(address account) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function envOr(string calldata name, string calldata defaultValue)
        external
        view
        returns (string memory);
    function label(address account, string calldata name) external;
}

/// @dev keccak256("hevm cheat code") truncated: where forge serves the cheatcodes.
address constant HEVM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

/// @notice The part of forge-std's Test and StdInvariant that forge reads from a test contract:
/// `targetContracts()` names what the invariant runner may call (here: only the handler).
abstract contract InvariantTest {
    Vm internal constant vm = Vm(HEVM_ADDRESS);

    /// @notice The selectors of one target the runner may call (forge-std's layout).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targets;
    FuzzSelector[] private _selectors;

    function targetContract(address target) internal {
        _targets.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _selectors.push(selector);
    }

    /// @notice Read by forge's invariant runner.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }

    /// @notice Read by forge's invariant runner.
    function targetContracts() public view returns (address[] memory) {
        return _targets;
    }
}
