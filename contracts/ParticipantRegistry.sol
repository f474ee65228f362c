// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IParticipantRegistry} from "./interfaces/IParticipantRegistry.sol";

/// @title ParticipantRegistry
/// @notice Stakes of trainers and verifiers, their project bindings and trainer reputation.
/// @dev Balance invariant: `address(this).balance == totalStaked` (ether forced in by
/// selfdestruct aside). The market contract holds MARKET_ROLE (bind/unbind); the reward
/// distributor holds REPUTATION_ROLE (it sees each finalized leaf once).
contract ParticipantRegistry is IParticipantRegistry, AccessControl, ReentrancyGuard {
    /// @notice Role of the market contract: binds and unbinds stakes to projects.
    bytes32 public constant MARKET_ROLE = keccak256("MARKET_ROLE");
    /// @notice Role of the reward distributor: records accepted/rejected rounds.
    bytes32 public constant REPUTATION_ROLE = keccak256("REPUTATION_ROLE");

    uint256 private immutable _minTrainerStake;
    uint256 private immutable _minVerifierStake;

    struct Participant {
        uint128 stake;
        uint64 bindings;
        bool registered;
    }

    mapping(address account => mapping(Kind kind => Participant)) private _participants;
    mapping(address trainer => Reputation) private _reputation;

    /// @inheritdoc IParticipantRegistry
    uint256 public totalStaked;

    /// @param admin Account allowed to grant the market and reputation roles (the deployer,
    ///        which renounces it once the contracts are wired).
    /// @param minTrainerStake Smallest trainer stake in wei.
    /// @param minVerifierStake Smallest verifier stake in wei.
    constructor(address admin, uint256 minTrainerStake, uint256 minVerifierStake) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _minTrainerStake = minTrainerStake;
        _minVerifierStake = minVerifierStake;
    }

    /// @inheritdoc IParticipantRegistry
    function register(Kind kind) external payable {
        Participant storage p = _participants[msg.sender][kind];
        if (p.registered) revert RegistryAlreadyRegistered(msg.sender, kind);
        uint256 minimum = minStake(kind);
        if (msg.value < minimum || msg.value == 0) {
            revert RegistryStakeTooLow(kind, msg.value, minimum);
        }
        p.registered = true;
        p.stake = uint128(msg.value);
        totalStaked += msg.value;
        emit Registered(msg.sender, kind, msg.value);
    }

    /// @inheritdoc IParticipantRegistry
    function topUp(Kind kind) external payable {
        Participant storage p = _participants[msg.sender][kind];
        if (!p.registered) revert RegistryNotRegistered(msg.sender, kind);
        if (msg.value == 0) revert RegistryZeroTopUp(msg.sender, kind);
        p.stake += uint128(msg.value);
        totalStaked += msg.value;
        emit StakeToppedUp(msg.sender, kind, msg.value, p.stake);
    }

    /// @inheritdoc IParticipantRegistry
    function withdraw(Kind kind) external nonReentrant {
        Participant storage p = _participants[msg.sender][kind];
        if (!p.registered) revert RegistryNotRegistered(msg.sender, kind);
        if (p.bindings != 0) revert RegistryStakeLocked(msg.sender, kind, p.bindings);
        uint256 amount = p.stake;
        delete _participants[msg.sender][kind];
        totalStaked -= amount;
        emit StakeWithdrawn(msg.sender, kind, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert RegistryTransferFailed(msg.sender, amount);
    }

    /// @inheritdoc IParticipantRegistry
    function bind(Kind kind, address account) external onlyRole(MARKET_ROLE) {
        Participant storage p = _participants[account][kind];
        if (!p.registered) revert RegistryNotRegistered(account, kind);
        uint256 minimum = minStake(kind);
        if (p.stake < minimum) revert RegistryStakeTooLow(kind, p.stake, minimum);
        p.bindings += 1;
        emit Bound(account, kind, p.bindings);
    }

    /// @inheritdoc IParticipantRegistry
    function unbind(Kind kind, address account) external onlyRole(MARKET_ROLE) {
        Participant storage p = _participants[account][kind];
        if (p.bindings == 0) revert RegistryNotBound(account, kind);
        p.bindings -= 1;
        emit Unbound(account, kind, p.bindings);
    }

    /// @inheritdoc IParticipantRegistry
    function recordOutcome(address trainer, bool accepted) external onlyRole(REPUTATION_ROLE) {
        Reputation storage r = _reputation[trainer];
        if (accepted) r.accepted += 1;
        else r.rejected += 1;
        emit ReputationRecorded(trainer, accepted, r.accepted, r.rejected);
    }

    /// @inheritdoc IParticipantRegistry
    function minStake(Kind kind) public view returns (uint256) {
        return kind == Kind.Trainer ? _minTrainerStake : _minVerifierStake;
    }

    /// @inheritdoc IParticipantRegistry
    function stakeOf(address account, Kind kind) external view returns (uint256) {
        return _participants[account][kind].stake;
    }

    /// @inheritdoc IParticipantRegistry
    function bindings(address account, Kind kind) external view returns (uint256) {
        return _participants[account][kind].bindings;
    }

    /// @inheritdoc IParticipantRegistry
    function isEligible(address account, Kind kind) external view returns (bool) {
        Participant storage p = _participants[account][kind];
        return p.registered && p.stake >= minStake(kind);
    }

    /// @inheritdoc IParticipantRegistry
    function reputationOf(address trainer) external view returns (Reputation memory) {
        return _reputation[trainer];
    }

    /// @inheritdoc IParticipantRegistry
    function score(address trainer) external view returns (int256) {
        Reputation storage r = _reputation[trainer];
        return int256(uint256(r.accepted)) - int256(uint256(r.rejected));
    }
}
