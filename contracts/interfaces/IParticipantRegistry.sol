// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Staked participants of fedmarket: trainers and verifiers, and trainer reputation.
/// @notice Anyone registers as a trainer or a verifier with a stake of at least the minimum set
/// at deployment. A stake is locked while its owner is bound to an open project or to an
/// unsettled vote (the market binds on join / attest and unbinds on leave / settlement) and can
/// be withdrawn in full otherwise. Registered verifiers form one pool, listed in registration
/// order, from which the market draws every round's committee: no project chooses its judges.
/// The market may slash a bound stake (a vote on the losing side, a trainer's empty seat); the
/// slashed ether goes to the market, which credits it to the parties the fault harmed.
/// Reputation counts the finalized rounds in which a trainer's update was accepted or rejected.
interface IParticipantRegistry {
    /// @notice The two kinds of staked participant; one account may be both, with two stakes.
    enum Kind {
        Trainer,
        Verifier
    }

    /// @notice Rounds in which a trainer's update was accepted / rejected by a finalized result.
    struct Reputation {
        uint64 accepted;
        uint64 rejected;
    }

    /// @notice `account` is already registered as `kind`; use topUp to add stake.
    error RegistryAlreadyRegistered(address account, Kind kind);
    /// @notice `account` is not registered as `kind`.
    error RegistryNotRegistered(address account, Kind kind);
    /// @notice The stake sent (`sent`) is below the deployment's minimum for `kind`.
    error RegistryStakeTooLow(Kind kind, uint256 sent, uint256 minimum);
    /// @notice A top-up of zero wei changes nothing.
    error RegistryZeroTopUp(address account, Kind kind);
    /// @notice The stake is locked: `account` is bound to `bindings` open projects.
    error RegistryStakeLocked(address account, Kind kind, uint256 bindings);
    /// @notice The market unbinds an account that holds no binding.
    error RegistryNotBound(address account, Kind kind);
    /// @notice The market slashes more than `account`'s `kind` stake of `stake` wei.
    error RegistrySlashTooLarge(address account, Kind kind, uint256 amount, uint256 stake);
    /// @notice Sending `amount` wei to `to` failed.
    error RegistryTransferFailed(address to, uint256 amount);

    /// @notice `account` registered as `kind` with `stake` wei.
    event Registered(address indexed account, Kind indexed kind, uint256 stake);
    /// @notice `account` added `amount` wei; its `kind` stake is now `stake`.
    event StakeToppedUp(address indexed account, Kind indexed kind, uint256 amount, uint256 stake);
    /// @notice `account` withdrew its whole `kind` stake of `amount` wei and is deregistered.
    event StakeWithdrawn(address indexed account, Kind indexed kind, uint256 amount);
    /// @notice `account` was bound to one more open project (now `bindings`).
    event Bound(address indexed account, Kind indexed kind, uint256 bindings);
    /// @notice `account` was released from one project (now `bindings`).
    event Unbound(address indexed account, Kind indexed kind, uint256 bindings);
    /// @notice The market took `amount` wei of `account`'s `kind` stake (now `stake`).
    event StakeSlashed(address indexed account, Kind indexed kind, uint256 amount, uint256 stake);
    /// @notice A finalized round judged `trainer`'s update; its counts are now as given.
    event ReputationRecorded(address indexed trainer, bool accepted, uint64 acceptedRounds,
        uint64 rejectedRounds);

    /// @notice Register the caller as `kind` with the ether sent as stake.
    function register(Kind kind) external payable;

    /// @notice Add the ether sent to the caller's existing `kind` stake.
    function topUp(Kind kind) external payable;

    /// @notice Withdraw the caller's whole `kind` stake and deregister; refused while bound.
    function withdraw(Kind kind) external;

    /// @notice Lock `account`'s `kind` stake for one more project (market role only).
    function bind(Kind kind, address account) external;

    /// @notice Release one project's lock on `account`'s `kind` stake (market role only).
    function unbind(Kind kind, address account) external;

    /// @notice Take `amount` wei of a bound `account`'s `kind` stake and send it to the caller
    /// (market role only). The stake stays registered; below the minimum it cannot bind again
    /// until topped up.
    function slash(Kind kind, address account, uint256 amount) external;

    /// @notice Count a finalized round's judgement of `trainer` (reputation role only).
    function recordOutcome(address trainer, bool accepted) external;

    /// @notice The minimum stake for `kind`, fixed at deployment.
    function minStake(Kind kind) external view returns (uint256);

    /// @notice `account`'s current `kind` stake in wei (0 when not registered).
    function stakeOf(address account, Kind kind) external view returns (uint256);

    /// @notice How many open projects hold `account`'s `kind` stake.
    function bindings(address account, Kind kind) external view returns (uint256);

    /// @notice True when `account` is registered as `kind` with at least the minimum stake.
    function isEligible(address account, Kind kind) external view returns (bool);

    /// @notice `trainer`'s accepted and rejected round counts.
    function reputationOf(address trainer) external view returns (Reputation memory);

    /// @notice `trainer`'s score: accepted minus rejected rounds (projects set a minimum).
    function score(address trainer) external view returns (int256);

    /// @notice Number of registered verifiers (the length of the committee pool).
    function verifierCount() external view returns (uint256);

    /// @notice The verifier at `index` of the pool and the time it registered.
    /// @dev Withdrawing moves the last verifier into the freed index, so an index can change
    /// hands; the market therefore only seats verifiers registered before a round started.
    function verifierAt(uint256 index) external view returns (address account, uint64 since);

    /// @notice `account`'s index in the verifier pool and its registration time; `listed` is
    /// false when it is not a registered verifier.
    function verifierIndexOf(address account)
        external view returns (bool listed, uint256 index, uint64 since);

    /// @notice Sum of all stakes held: equals the contract's balance at every moment.
    function totalStaked() external view returns (uint256);
}
