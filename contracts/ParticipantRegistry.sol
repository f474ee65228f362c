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

    /// @dev A verifier's place in the committee pool: 1-based index (0: not listed) and since.
    struct PoolEntry {
        uint64 index;
        uint64 since;
    }

    mapping(address account => mapping(Kind kind => Participant)) private _participants;
    /// @dev Every registered verifier, in one array the market draws committees from.
    address[] private _verifiers;
    mapping(address verifier => PoolEntry) private _poolEntries;
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
        if (kind == Kind.Verifier) {
            _verifiers.push(msg.sender);
            _poolEntries[msg.sender] = PoolEntry(uint64(_verifiers.length), uint64(block.timestamp));
        }
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
        if (kind == Kind.Verifier) _unlist(msg.sender);
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
    function slash(Kind kind, address account, uint256 amount)
        external
        onlyRole(MARKET_ROLE)
        nonReentrant
    {
        Participant storage p = _participants[account][kind];
        if (p.bindings == 0) revert RegistryNotBound(account, kind);
        if (amount > p.stake) revert RegistrySlashTooLarge(account, kind, amount, p.stake);
        if (amount == 0) return;
        p.stake -= uint128(amount);
        totalStaked -= amount;
        emit StakeSlashed(account, kind, amount, p.stake);
        // The market (a trusted contract set at deployment) credits the ether to the harmed.
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert RegistryTransferFailed(msg.sender, amount);
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
    function verifierCount() external view returns (uint256) {
        return _verifiers.length;
    }

    /// @inheritdoc IParticipantRegistry
    function verifierAt(uint256 index) external view returns (address account, uint64 since) {
        if (index >= _verifiers.length) return (address(0), 0);
        account = _verifiers[index];
        since = _poolEntries[account].since;
    }

    /// @inheritdoc IParticipantRegistry
    function verifierIndexOf(address account)
        external
        view
        returns (bool listed, uint256 index, uint64 since)
    {
        PoolEntry storage e = _poolEntries[account];
        if (e.index == 0) return (false, 0, 0);
        return (true, e.index - 1, e.since);
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

    /// @dev Swap-and-pop: the last verifier takes the freed index (O(1), no gaps to draw).
    function _unlist(address account) private {
        uint256 index = _poolEntries[account].index - 1;
        uint256 last = _verifiers.length - 1;
        if (index != last) {
            address moved = _verifiers[last];
            _verifiers[index] = moved;
            _poolEntries[moved].index = uint64(index + 1);
        }
        _verifiers.pop();
        delete _poolEntries[account];
    }
}
