// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FedMarket} from "../../contracts/FedMarket.sol";
import {ParticipantRegistry} from "../../contracts/ParticipantRegistry.sol";
import {RewardDistributor} from "../../contracts/RewardDistributor.sol";
import {IFedMarket} from "../../contracts/interfaces/IFedMarket.sol";
import {IParticipantRegistry} from "../../contracts/interfaces/IParticipantRegistry.sol";
import {IRewardDistributor} from "../../contracts/interfaces/IRewardDistributor.sol";
import {ProjectId} from "../../contracts/libraries/Ids.sol";
import {RewardLeaf} from "../../contracts/libraries/RewardLeaf.sol";
import {HEVM_ADDRESS, Vm} from "../utils/Vm.sol";

/// @title Drives random sequences of the whole market flow with a dozen actors.
/// @notice Every entry point takes fuzzed seeds, picks an actor and a project, makes the call
/// the contracts would get from that actor (as `vm.prank`), and keeps ghost books of what the
/// contracts should hold. A reverted call changes nothing and is simply skipped (the runner
/// does not fail on reverts); a successful call that breaks a rule the handler can see at the
/// call (a second payout of a leaf, a payout to a non-revealer, a vote from outside the
/// committee, a withdrawal paying another amount than was owed) is recorded in `violation`,
/// which the invariant asserts is empty: a `require` here would only turn into a skipped call.
/// @dev Actors 0-1 tend to own projects, 2-3 to aggregate, 4-7 to train, 8-11 to verify; one
/// pick in eight ignores the tendency, so owners also train, aggregators also verify, etc.
contract MarketHandler {
    Vm internal constant vm = Vm(HEVM_ADDRESS);

    uint256 public constant ACTORS = 12;
    uint256 public constant MAX_PROJECTS = 4;
    uint256 public constant MAX_ROUNDS = 3;
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;
    IParticipantRegistry.Kind internal constant TRAINER = IParticipantRegistry.Kind.Trainer;
    IParticipantRegistry.Kind internal constant VERIFIER = IParticipantRegistry.Kind.Verifier;

    FedMarket public immutable market;
    ParticipantRegistry public immutable registry;
    RewardDistributor public immutable distributor;
    uint256 public immutable claimWindow;

    address[ACTORS] internal _actors;

    /// @dev One leaf of a posted rewards tree (trees have one or two leaves).
    struct Leaf {
        address trainer;
        uint256 amount;
    }

    // ---------------------------------------------------------------- ghost books

    /// @notice Ether sent into the contracts by successful calls.
    uint256 public ghostIn;
    /// @notice Ether the contracts paid out to actors and to the burn address.
    uint256 public ghostOut;
    /// @notice Stake each actor put in per kind since it (re)registered.
    mapping(address actor => mapping(IParticipantRegistry.Kind kind => uint256)) public deposited;
    /// @notice Stake taken from each actor per kind since it (re)registered.
    mapping(address actor => mapping(IParticipantRegistry.Kind kind => uint256)) public slashed;
    /// @notice Trainers whose reveal succeeded, per project and round.
    mapping(uint256 project => mapping(uint256 round => mapping(address trainer => bool)))
        public revealed;
    /// @notice Successful leaf settlements per project, round and trainer (must stay <= 1).
    mapping(uint256 project => mapping(uint256 round => mapping(address trainer => uint256)))
        public claims;
    /// @notice Sum paid out per funded round, to compare with the distributor's record.
    mapping(uint256 project => mapping(uint256 round => uint256)) public paidOut;
    /// @notice Compensation claims per project, round and trainer (must stay <= 1).
    mapping(uint256 project => mapping(uint256 round => mapping(address trainer => uint256)))
        public compensations;
    mapping(uint256 project => mapping(uint256 round => Leaf[])) internal _leaves;
    mapping(uint256 project => mapping(uint256 round => bytes32)) internal _roots;

    /// @notice The first rule a successful call broke ("" while none).
    string public violation;
    /// @notice Successful calls per entry point, for the coverage summary.
    mapping(bytes4 selector => uint256) public successes;

    constructor(FedMarket market_, ParticipantRegistry registry_, RewardDistributor distributor_) {
        market = market_;
        registry = registry_;
        distributor = distributor_;
        claimWindow = distributor_.claimWindow();
        for (uint256 i = 0; i < ACTORS; ++i) {
            _actors[i] = address(uint160(0xA0000 + i));
            vm.label(_actors[i], string(abi.encodePacked("actor", bytes1(uint8(97 + i)))));
        }
    }

    // ---------------------------------------------------------------- registry

    function register(uint256 actorSeed, bool asVerifier, uint96 extra) external {
        IParticipantRegistry.Kind kind = asVerifier ? VERIFIER : TRAINER;
        address a = asVerifier ? _pick(actorSeed, 8, 4) : _pick(actorSeed, 4, 4);
        uint256 value = registry.minStake(kind) + (extra % 1 ether);
        (bool ok,) = _act(a, address(registry), value,
            abi.encodeCall(IParticipantRegistry.register, (kind)));
        if (ok) deposited[a][kind] = value;
    }

    function topUp(uint256 actorSeed, bool asVerifier, uint96 amount) external {
        IParticipantRegistry.Kind kind = asVerifier ? VERIFIER : TRAINER;
        address a = _pick(actorSeed, asVerifier ? 8 : 4, 4);
        uint256 value = 1 + (amount % 1 ether);
        (bool ok,) = _act(a, address(registry), value,
            abi.encodeCall(IParticipantRegistry.topUp, (kind)));
        if (ok) deposited[a][kind] += value;
    }

    function unstake(uint256 actorSeed, bool asVerifier) external {
        IParticipantRegistry.Kind kind = asVerifier ? VERIFIER : TRAINER;
        address a = _pick(actorSeed, asVerifier ? 8 : 4, 4);
        uint256 stake = registry.stakeOf(a, kind);
        uint256 before = a.balance;
        (bool ok,) = _act(a, address(registry), 0,
            abi.encodeCall(IParticipantRegistry.withdraw, (kind)));
        if (!ok) return;
        if (a.balance - before != stake) _flag("unstake paid another amount than the stake");
        if (stake != deposited[a][kind] - slashed[a][kind]) {
            _flag("unstake paid another amount than deposits minus slashes");
        }
        deposited[a][kind] = 0;
        slashed[a][kind] = 0;
    }

    // ---------------------------------------------------------------- projects

    function postProject(uint256 ownerSeed, uint256 aggSeed, uint256 paramSeed, uint96 budget)
        external
    {
        if (market.projectCount() >= MAX_PROJECTS) return;
        address owner = _pick(ownerSeed, 0, 2);
        address aggregator = _pick(aggSeed, 2, 2);
        IFedMarket.ProjectParams memory params = _params(aggregator, paramSeed);
        uint256 value = 1 + (budget % 10 ether);
        _act(owner, address(market), value, abi.encodeCall(IFedMarket.postProject, (params)));
    }

    function startProject(uint256 projectSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        _act(p.params.aggregator, address(market), p.params.aggregatorBond,
            abi.encodeCall(IFedMarket.startProject, (ProjectId.wrap(id))));
    }

    function cancelProject(uint256 projectSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        _act(p.owner, address(market), 0,
            abi.encodeCall(IFedMarket.cancelProject, (ProjectId.wrap(id))));
    }

    function join(uint256 projectSeed, uint256 actorSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(actorSeed, 4, 4), address(market), 0,
            abi.encodeCall(IFedMarket.joinAsTrainer, (ProjectId.wrap(id))));
    }

    function leaveProject(uint256 projectSeed, uint256 actorSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(actorSeed, 4, 4), address(market), 0,
            abi.encodeCall(IFedMarket.leave, (ProjectId.wrap(id))));
    }

    function release(uint256 projectSeed, uint256 trainerSeed, uint256 callerSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(callerSeed, 0, ACTORS), address(market), 0,
            abi.encodeCall(IFedMarket.release, (ProjectId.wrap(id), _pick(trainerSeed, 4, 4))));
    }

    // ---------------------------------------------------------------- rounds

    function commit(uint256 projectSeed, uint256 actorSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = p.currentRound;
        address t = _pick(actorSeed, 4, 4);
        if (actorSeed % 4 != 0) t = _withSubmission(id, round, actorSeed, t, false);
        bytes32 c = market.commitmentFor(_cid(t), _salt(id, round, t), t, ProjectId.wrap(id),
            round);
        _act(t, address(market), 0,
            abi.encodeCall(IFedMarket.commit, (ProjectId.wrap(id), round, c)));
    }

    function reveal(uint256 projectSeed, uint256 actorSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = p.currentRound;
        address t = _pick(actorSeed, 4, 4);
        if (actorSeed % 4 != 0) t = _withSubmission(id, round, actorSeed, t, true);
        (bool ok,) = _act(t, address(market), 0, abi.encodeCall(IFedMarket.reveal,
            (ProjectId.wrap(id), round, _cid(t), _salt(id, round, t))));
        if (ok) revealed[id][round][t] = true;
    }

    /// @notice The aggregator posts a tree of one or two leaves (or none). Leaves mostly name
    /// revealed trainers; sometimes anyone (the distributor must refuse to pay those), and the
    /// posted total may exceed the leaves' sum (the rest must come back on expiry).
    function submitResult(uint256 projectSeed, uint256 leafSeed, uint128 amountSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = p.currentRound;
        IFedMarket.Round memory r = market.getRound(ProjectId.wrap(id), round);
        uint256 room = r.pool > r.fee ? r.pool - r.fee : 0;
        uint256 n = leafSeed % 3;
        Leaf[2] memory leaves;
        uint256 sum;
        for (uint256 i = 0; i < n; ++i) {
            uint256 s = uint256(keccak256(abi.encode(leafSeed, i)));
            leaves[i].trainer = s % 4 == 0 ? _pick(s >> 8, 0, ACTORS) : _revealer(id, round, s);
            leaves[i].amount = room - sum == 0 ? 0 : (s >> 128) % (room - sum + 1);
            if (amountSeed % 5 == 0) leaves[i].amount = room - sum; // the whole rest
            sum += leaves[i].amount;
        }
        uint256 total = sum;
        if (n > 0 && amountSeed % 3 == 0) total += uint256(amountSeed) % (room - sum + 1);
        bytes32 root = n == 0 ? bytes32(0) : _root(id, round, leaves, n);
        IFedMarket.RoundResult memory result = IFedMarket.RoundResult({
            modelCid: "model", resultCid: "result", resultHash: keccak256("result"),
            rewardsRoot: root, totalRewarded: total, proofClaim: bytes32(0)
        });
        (bool ok,) = _act(p.params.aggregator, address(market), 0,
            abi.encodeCall(IFedMarket.submitResult, (ProjectId.wrap(id), round, result)));
        if (!ok) return;
        _roots[id][round] = root;
        delete _leaves[id][round];
        for (uint256 i = 0; i < n; ++i) _leaves[id][round].push(leaves[i]);
    }

    /// @notice A verifier votes; three times in four the handler looks for one on the committee.
    function attest(uint256 projectSeed, uint256 actorSeed, bool agree) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = p.currentRound;
        address v = _pick(actorSeed, 8, 4);
        if (actorSeed % 4 != 0) {
            for (uint256 i = 0; i < ACTORS; ++i) {
                address c = _actors[(actorSeed % ACTORS + i) % ACTORS];
                if (market.isOnCommittee(ProjectId.wrap(id), round, c)
                    && market.attestationOf(ProjectId.wrap(id), round, c) == 0)
                {
                    v = c;
                    break;
                }
            }
        }
        bool seated = market.isOnCommittee(ProjectId.wrap(id), round, v);
        (bool ok,) = _act(v, address(market), 0,
            abi.encodeCall(IFedMarket.attest, (ProjectId.wrap(id), round, agree, "report")));
        if (ok && !seated) _flag("a verifier off the committee attested");
    }

    function finalize(uint256 projectSeed, uint256 callerSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(callerSeed, 0, ACTORS), address(market), 0,
            abi.encodeCall(IFedMarket.finalize, (ProjectId.wrap(id))));
    }

    function advance(uint256 projectSeed, uint256 callerSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(callerSeed, 0, ACTORS), address(market), 0,
            abi.encodeCall(IFedMarket.advance, (ProjectId.wrap(id))));
    }

    function finish(uint256 projectSeed, uint256 callerSeed) external {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        _act(_pick(callerSeed, 0, ACTORS), address(market), 0,
            abi.encodeCall(IFedMarket.finish, (ProjectId.wrap(id))));
    }

    // ---------------------------------------------------------------- payouts

    /// @notice Settle one posted leaf, by `claim` from anyone or `claimMany` from the trainer.
    function claim(uint256 projectSeed, uint256 roundSeed, uint256 leafSeed, uint256 callerSeed)
        external
    {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = 1 + roundSeed % MAX_ROUNDS;
        Leaf[] storage leaves = _leaves[id][round];
        if (leaves.length == 0) return;
        uint256 i = leafSeed % leaves.length;
        Leaf memory leaf = leaves[i];
        bytes32[] memory proof = new bytes32[](leaves.length - 1);
        if (leaves.length == 2) {
            Leaf memory other = leaves[1 - i];
            proof[0] = RewardLeaf.hash(ProjectId.wrap(id), round, other.trainer, other.amount);
        }
        address caller = callerSeed % 2 == 0 ? leaf.trainer : _pick(callerSeed, 0, ACTORS);
        bytes memory data;
        if (callerSeed % 2 == 0) {
            IRewardDistributor.ClaimRequest[] memory reqs = new IRewardDistributor.ClaimRequest[](1);
            reqs[0] = IRewardDistributor.ClaimRequest(ProjectId.wrap(id), round, leaf.amount, proof);
            data = abi.encodeCall(IRewardDistributor.claimMany, (leaf.trainer, reqs));
        } else {
            data = abi.encodeCall(IRewardDistributor.claim,
                (ProjectId.wrap(id), round, leaf.trainer, leaf.amount, proof));
        }
        uint256 before = leaf.trainer.balance;
        (bool ok,) = _act(caller, address(distributor), 0, data);
        if (!ok) return;
        claims[id][round][leaf.trainer] += 1;
        paidOut[id][round] += leaf.amount;
        if (claims[id][round][leaf.trainer] > 1) _flag("a leaf was settled twice");
        if (!revealed[id][round][leaf.trainer]) _flag("a leaf paid a trainer who did not reveal");
        if (leaf.trainer.balance - before != leaf.amount) _flag("a claim paid another amount");
    }

    function claimCompensation(uint256 projectSeed, uint256 roundSeed, uint256 actorSeed)
        external
    {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = 1 + roundSeed % MAX_ROUNDS;
        address t = actorSeed % 4 == 0 ? _pick(actorSeed, 0, ACTORS) : _revealer(id, round, actorSeed);
        (bool ok,) = _act(t, address(market), 0,
            abi.encodeCall(IFedMarket.claimCompensation, (ProjectId.wrap(id), round)));
        if (!ok) return;
        compensations[id][round][t] += 1;
        if (compensations[id][round][t] > 1) _flag("compensation claimed twice");
        if (!revealed[id][round][t]) _flag("compensation paid a trainer who did not reveal");
    }

    function burnExpiredCompensation(uint256 projectSeed, uint256 roundSeed, uint256 callerSeed)
        external
    {
        (uint256 id,) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = 1 + roundSeed % MAX_ROUNDS;
        (,uint256 left,) = market.compensationOf(ProjectId.wrap(id), round);
        uint256 before = BURN.balance;
        (bool ok,) = _act(_pick(callerSeed, 0, ACTORS), address(market), 0,
            abi.encodeCall(IFedMarket.burnExpiredCompensation, (ProjectId.wrap(id), round)));
        if (ok && BURN.balance - before != left) _flag("burn sent another amount than was left");
    }

    function reclaimExpired(uint256 projectSeed, uint256 roundSeed, uint256 callerSeed) external {
        (uint256 id, IFedMarket.Project memory p) = _project(projectSeed);
        if (id == 0) return;
        uint256 round = 1 + roundSeed % MAX_ROUNDS;
        IRewardDistributor.RoundFunds memory f = distributor.roundFunds(ProjectId.wrap(id), round);
        uint256 credit = market.creditOf(p.owner);
        (bool ok,) = _act(_pick(callerSeed, 0, ACTORS), address(distributor), 0,
            abi.encodeCall(IRewardDistributor.reclaimExpired, (ProjectId.wrap(id), round)));
        if (ok && market.creditOf(p.owner) - credit != f.total - f.claimed) {
            _flag("reclaimExpired credited the owner another amount than was unclaimed");
        }
    }

    function withdrawCredits(uint256 actorSeed) external {
        address a = _pick(actorSeed, 0, ACTORS);
        uint256 credit = market.creditOf(a);
        uint256 before = a.balance;
        (bool ok,) = _act(a, address(market), 0, abi.encodeCall(IFedMarket.withdraw, ()));
        if (ok && a.balance - before != credit) _flag("withdraw paid another amount than credited");
    }

    // ---------------------------------------------------------------- the happy path

    /// @notice Take the next natural step of a project (join, start, commit, reveal, post,
    /// vote, close the round, claim), or let the time of the current phase run out. Random
    /// calls alone rarely line up the half-dozen steps a round needs; this entry point (listed
    /// twice, to weigh it) keeps most sequences moving through whole rounds, while the other
    /// entry points keep hitting every state out of order.
    function progress(uint256 projectSeed, uint256 seed) public {
        (uint256 id, IFedMarket.Project memory p) = _openProject(projectSeed);
        if (id == 0) {
            this.postProject(seed, seed >> 8, seed >> 16, uint96(seed >> 24));
            return;
        }
        uint256 ps = id - 1;
        if (p.status == IFedMarket.ProjectStatus.Created) {
            if (p.trainerCount < p.params.maxTrainers && seed % 3 != 0) this.join(ps, seed);
            else this.startProject(ps);
            return;
        }
        if (p.status != IFedMarket.ProjectStatus.Running) {
            uint256 k = seed % 7;
            if (k == 0) this.claim(ps, seed >> 8, seed >> 16, seed >> 24);
            else if (k == 1) this.claimCompensation(ps, seed >> 8, seed >> 16);
            else if (k == 2) this.withdrawCredits(seed >> 8);
            else if (k == 3) this.postProject(seed, seed >> 8, seed >> 16, uint96(seed >> 24));
            else if (k == 4) this.warpPastClaimWindow();
            else if (k == 5) this.reclaimExpired(ps, seed >> 8, seed >> 16);
            else this.burnExpiredCompensation(ps, seed >> 8, seed >> 16);
            return;
        }
        if (seed % 6 == 0) {
            this.claim(ps, seed >> 8, seed >> 16, seed >> 24); // an earlier round's leaf
            return;
        }
        uint256 round = p.currentRound;
        IFedMarket.RoundPhase phase = market.roundPhase(ProjectId.wrap(id), round);
        IFedMarket.Deadlines memory d = market.roundDeadlines(ProjectId.wrap(id), round);
        if (phase == IFedMarket.RoundPhase.Reveal && seed % 3 == 0) {
            // A member that did not commit holds a seat for nothing once commits are over.
            address idle = _withSubmission(id, round, seed >> 8, address(0), false);
            if (idle != address(0)) {
                _act(_pick(seed >> 16, 0, ACTORS), address(market), 0,
                    abi.encodeCall(IFedMarket.release, (ProjectId.wrap(id), idle)));
                return;
            }
        }
        if (phase == IFedMarket.RoundPhase.Commit) {
            if (seed % 5 == 0) {
                vm.warp(d.commit + 1); // let the commit phase end with seats left idle
            } else if (_withSubmission(id, round, seed, address(0), false) != address(0)) {
                this.commit(ps, seed | 1);
            } else {
                vm.warp(d.commit + 1);
            }
        } else if (phase == IFedMarket.RoundPhase.Reveal) {
            if (_withSubmission(id, round, seed, address(0), true) != address(0)) {
                this.reveal(ps, seed | 1);
            } else {
                vm.warp(d.reveal + 1);
            }
        } else if (phase == IFedMarket.RoundPhase.Aggregate) {
            if (seed % 8 != 0) this.submitResult(ps, seed, uint128(seed >> 8));
            else vm.warp(d.result + 1); // a silent aggregator now and then
        } else if (phase == IFedMarket.RoundPhase.Verify) {
            if (seed % 4 != 0) this.attest(ps, seed | 1, seed % 5 != 0);
            else vm.warp(d.verify + 1);
        } else if (phase == IFedMarket.RoundPhase.Expired) {
            if (seed % 2 == 0) this.finalize(ps, seed);
            else this.advance(ps, seed);
        } else {
            this.finish(ps, seed);
        }
        vm.roll(block.number + 1);
    }

    /// @notice The same as `progress`: a second selector doubles its share of the calls.
    function progressAgain(uint256 projectSeed, uint256 seed) external {
        progress(projectSeed, seed);
    }

    /// @notice Any other entry point, out of order (one selector, so that forge, which picks
    /// selectors uniformly, gives `progress` two calls in three).
    function chaos(uint8 op, uint256 a, uint256 b, uint256 c) external {
        op %= 23;
        if (op == 0) this.register(a, b % 2 == 0, uint96(c));
        else if (op == 1) this.topUp(a, b % 2 == 0, uint96(c));
        else if (op == 2) this.unstake(a, b % 2 == 0);
        else if (op == 3) this.postProject(a, b, c, uint96(c >> 128));
        else if (op == 4) this.startProject(a);
        else if (op == 5) this.cancelProject(a);
        else if (op == 6) this.join(a, b);
        else if (op == 7) this.leaveProject(a, b);
        else if (op == 8) this.release(a, b, c);
        else if (op == 9) this.commit(a, b);
        else if (op == 10) this.reveal(a, b);
        else if (op == 11) this.submitResult(a, b, uint128(c));
        else if (op == 12) this.attest(a, b, c % 2 == 0);
        else if (op == 13) this.finalize(a, b);
        else if (op == 14) this.advance(a, b);
        else if (op == 15) this.finish(a, b);
        else if (op == 16) this.claim(a, b, c, c >> 8);
        else if (op == 17) this.claimCompensation(a, b, c);
        else if (op == 18) this.burnExpiredCompensation(a, b, c);
        else if (op == 19) this.reclaimExpired(a, b, c);
        else if (op == 20) this.withdrawCredits(a);
        else if (op == 21) this.warp(uint16(a));
        else this.warpPastClaimWindow();
    }

    // ---------------------------------------------------------------- time

    /// @notice Move time by up to three phases (one block per call).
    function warp(uint16 seconds_) external {
        vm.warp(block.timestamp + 1 + seconds_ % 200);
        vm.roll(block.number + 1);
    }

    /// @notice Jump past every claim window.
    function warpPastClaimWindow() external {
        vm.warp(block.timestamp + claimWindow + 1);
        vm.roll(block.number + 1);
    }

    // ---------------------------------------------------------------- views for invariants

    function actor(uint256 i) external view returns (address) {
        return _actors[i];
    }

    /// @notice Deposits and slashes of `a` (trainer, then verifier), in one call: the invariant
    /// runs after every call, and each external call costs forge a trace.
    function stakeBooks(address a) external view returns (uint256[4] memory b) {
        b[0] = deposited[a][TRAINER];
        b[1] = slashed[a][TRAINER];
        b[2] = deposited[a][VERIFIER];
        b[3] = slashed[a][VERIFIER];
    }

    /// @notice For each leaf of a round: how often it was settled and whether its trainer
    /// revealed (see `claims`, `revealed`).
    function leafBooks(uint256 project, uint256 round)
        external
        view
        returns (Leaf[] memory leaves, uint256[] memory times, bool[] memory revealers)
    {
        leaves = _leaves[project][round];
        times = new uint256[](leaves.length);
        revealers = new bool[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) {
            times[i] = claims[project][round][leaves[i].trainer];
            revealers[i] = revealed[project][round][leaves[i].trainer];
        }
    }

    function leafCount(uint256 project, uint256 round) external view returns (uint256) {
        return _leaves[project][round].length;
    }

    function leafAt(uint256 project, uint256 round, uint256 i) external view returns (Leaf memory) {
        return _leaves[project][round][i];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Call `target` as `a` with `value` (dealt to `a` first). On success, book the ether
    /// in and out: whatever the actors and the burn address hold more than before, beyond the
    /// value they sent, the contracts paid out; and book every stake that moved.
    function _act(address a, address target, uint256 value, bytes memory data)
        internal
        returns (bool ok, bytes memory ret)
    {
        if (value > 0) vm.deal(a, a.balance + value);
        uint256[2 * ACTORS] memory stakesBefore = _stakes();
        uint256 outside = _outsideBalance();
        vm.prank(a);
        (ok, ret) = target.call{value: value}(data);
        if (!ok) return (ok, ret);
        successes[bytes4(data)] += 1;
        ghostIn += value;
        uint256 outsideAfter = _outsideBalance();
        if (outsideAfter + value < outside) {
            _flag("ether left the actors beyond what they sent");
        } else {
            ghostOut += outsideAfter + value - outside;
        }
        _bookStakes(stakesBefore, a, bytes4(data));
    }

    function _bookStakes(uint256[2 * ACTORS] memory before, address a, bytes4 selector) internal {
        uint256[2 * ACTORS] memory later = _stakes();
        for (uint256 i = 0; i < 2 * ACTORS; ++i) {
            if (later[i] == before[i]) continue;
            address who = _actors[i / 2];
            IParticipantRegistry.Kind kind = i % 2 == 0 ? TRAINER : VERIFIER;
            bool own = who == a && (selector == IParticipantRegistry.register.selector
                || selector == IParticipantRegistry.topUp.selector
                || selector == IParticipantRegistry.withdraw.selector);
            if (own) continue;
            if (later[i] > before[i]) {
                _flag("a stake grew without its owner paying in");
            } else {
                slashed[who][kind] += before[i] - later[i];
                if (slashed[who][kind] > deposited[who][kind]) _flag("slashed more than staked");
            }
        }
    }

    function _stakes() internal view returns (uint256[2 * ACTORS] memory s) {
        for (uint256 i = 0; i < ACTORS; ++i) {
            s[2 * i] = registry.stakeOf(_actors[i], TRAINER);
            s[2 * i + 1] = registry.stakeOf(_actors[i], VERIFIER);
        }
    }

    function _outsideBalance() internal view returns (uint256 sum) {
        sum = BURN.balance;
        for (uint256 i = 0; i < ACTORS; ++i) sum += _actors[i].balance;
    }

    function _flag(string memory what) internal {
        if (bytes(violation).length == 0) violation = what;
    }

    /// @dev Mostly one of `count` actors from `from`; one time in eight any actor.
    function _pick(uint256 seed, uint256 from, uint256 count) internal view returns (address) {
        if (uint256(keccak256(abi.encode(seed))) % 8 == 0) return _actors[seed % ACTORS];
        return _actors[from + seed % count];
    }

    /// @dev A member trainer of the project that has committed (or, if not `committed`, has
    /// not yet committed) in the round, searching from `seed`; `fallback_` if none.
    function _withSubmission(uint256 id, uint256 round, uint256 seed, address fallback_,
        bool committed) internal view returns (address)
    {
        IFedMarket.SubmissionStatus want = committed ? IFedMarket.SubmissionStatus.Committed
            : IFedMarket.SubmissionStatus.None;
        for (uint256 i = 0; i < ACTORS; ++i) {
            address a = _actors[(seed % ACTORS + i) % ACTORS];
            if (market.membershipOf(ProjectId.wrap(id), a) == IFedMarket.Membership.Trainer
                && market.submissionOf(ProjectId.wrap(id), round, a) == want)
            {
                return a;
            }
        }
        return fallback_;
    }

    /// @dev A trainer that revealed in the round if there is one (searching from `seed`).
    function _revealer(uint256 id, uint256 round, uint256 seed) internal view returns (address) {
        for (uint256 i = 0; i < ACTORS; ++i) {
            address a = _actors[(seed % ACTORS + i) % ACTORS];
            if (revealed[id][round][a]) return a;
        }
        return _actors[4 + seed % 4];
    }

    /// @dev The newest project still created or running at or below a random id, else none.
    function _openProject(uint256 seed) internal view returns (uint256, IFedMarket.Project memory) {
        uint256 count = market.projectCount();
        IFedMarket.Project memory p;
        if (count == 0) return (0, p);
        uint256 top = seed % 4 == 0 ? 1 + seed % count : count;
        for (uint256 id = top; id > 0; --id) {
            p = market.getProject(ProjectId.wrap(id));
            if (p.status == IFedMarket.ProjectStatus.Created
                || p.status == IFedMarket.ProjectStatus.Running) return (id, p);
        }
        if (count < MAX_PROJECTS) return (0, p);
        return _project(seed);
    }

    function _project(uint256 seed) internal view returns (uint256 id, IFedMarket.Project memory p) {
        uint256 count = market.projectCount();
        if (count == 0) return (0, p);
        id = 1 + seed % count;
        p = market.getProject(ProjectId.wrap(id));
    }

    function _params(address aggregator, uint256 seed)
        internal
        view
        returns (IFedMarket.ProjectParams memory params)
    {
        seed = uint256(keccak256(abi.encode(seed))); // fuzzers favour small and edge values
        uint256 minPhase = market.minPhaseDuration();
        uint32 committee = uint32(1 + (seed >> 8) % 3);
        params.modelSpecCid = "spec";
        params.initialWeightsCid = "weights";
        params.aggregator = aggregator;
        params.aggregatorBond = uint128(((seed >> 16) % 4) * 0.5 ether);
        params.rounds = uint16(1 + (seed >> 24) % MAX_ROUNDS);
        params.minTrainers = uint32((seed >> 32) % 3);
        params.maxTrainers = uint32(params.minTrainers + (seed >> 40) % 3);
        if (params.maxTrainers == 0) params.maxTrainers = 1;
        params.committeeSize = committee;
        params.verifierQuorum = uint32(1 + (seed >> 48) % committee);
        params.verifierFeeBps = uint16((seed >> 56) % 5_001);
        params.minReputation = (seed >> 72) % 16 == 0 ? int64(1) : int64(0);
        params.commitDuration = uint32(minPhase + (seed >> 80) % 120);
        params.revealDuration = uint32(minPhase + (seed >> 88) % 120);
        params.aggregateDuration = uint32(minPhase + (seed >> 96) % 120);
        params.verifyDuration = uint32(minPhase + (seed >> 104) % 120);
    }

    function _cid(address t) internal pure returns (string memory) {
        return string(abi.encodePacked("update-", t));
    }

    function _salt(uint256 id, uint256 round, address t) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", id, round, t));
    }

    /// @dev OpenZeppelin's MerkleProof hashes pairs sorted: a two-leaf root is H(min, max).
    function _root(uint256 id, uint256 round, Leaf[2] memory leaves, uint256 n)
        internal
        pure
        returns (bytes32)
    {
        bytes32 a = RewardLeaf.hash(ProjectId.wrap(id), round, leaves[0].trainer, leaves[0].amount);
        if (n == 1) return a;
        bytes32 b = RewardLeaf.hash(ProjectId.wrap(id), round, leaves[1].trainer, leaves[1].amount);
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }
}
