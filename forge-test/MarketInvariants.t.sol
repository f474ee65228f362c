// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FedMarket} from "../contracts/FedMarket.sol";
import {ParticipantRegistry} from "../contracts/ParticipantRegistry.sol";
import {RewardDistributor} from "../contracts/RewardDistributor.sol";
import {IFedMarket} from "../contracts/interfaces/IFedMarket.sol";
import {IParticipantRegistry} from "../contracts/interfaces/IParticipantRegistry.sol";
import {IRewardDistributor} from "../contracts/interfaces/IRewardDistributor.sol";
import {IRoundProofs} from "../contracts/interfaces/IRoundProofs.sol";
import {ProjectId} from "../contracts/libraries/Ids.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";
import {InvariantTest} from "./utils/Vm.sol";

/// @title The ether books of the three contracts hold to the wei under any call sequence.
/// @notice Deployed and wired as fedmarket/chain/deploy.py does (distributor first, pointing
/// at the market's precomputed address). forge calls only the handler; after every call the
/// single invariant below re-derives each contract's books from its own per-item state and
/// from the handler's ghost books, so one campaign checks them all (an invariant function per
/// property would run a campaign each).
contract MarketInvariantsTest is InvariantTest {
    uint256 internal constant MIN_PHASE = 60;
    uint256 internal constant CLAIM_WINDOW = 1 days;
    IParticipantRegistry.Kind internal constant TRAINER = IParticipantRegistry.Kind.Trainer;
    IParticipantRegistry.Kind internal constant VERIFIER = IParticipantRegistry.Kind.Verifier;

    ParticipantRegistry internal registry;
    RewardDistributor internal distributor;
    FedMarket internal market;
    MarketHandler internal handler;
    address[] internal actors;
    uint256 internal maxRounds;

    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new ParticipantRegistry(address(this), 0.1 ether, 0.5 ether);
        address expected = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        distributor = new RewardDistributor(address(this), registry, IFedMarket(expected),
            CLAIM_WINDOW);
        // No result here claims a proof, so the market never asks a proofs contract.
        market = new FedMarket(registry, distributor, MIN_PHASE, CLAIM_WINDOW,
            IRoundProofs(address(0)));
        require(address(market) == expected, "market not at the address the distributor expects");
        registry.grantRole(registry.MARKET_ROLE(), address(market));
        registry.grantRole(registry.REPUTATION_ROLE(), address(distributor));
        distributor.grantRole(distributor.FUNDER_ROLE(), address(market));
        registry.renounceRole(registry.DEFAULT_ADMIN_ROLE(), address(this));
        distributor.renounceRole(distributor.DEFAULT_ADMIN_ROLE(), address(this));

        handler = new MarketHandler(market, registry, distributor);
        for (uint256 i = 0; i < handler.ACTORS(); ++i) actors.push(handler.actor(i));
        maxRounds = handler.MAX_ROUNDS();
        // A standing pool of trainers and verifiers, so that sequences reach rounds quickly.
        for (uint256 i = 0; i < 4; ++i) {
            handler.register(i, false, 0);
            handler.register(i, true, 0);
        }
        vm.warp(block.timestamp + 1);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = MarketHandler.progress.selector;
        selectors[1] = MarketHandler.progressAgain.selector;
        selectors[2] = MarketHandler.chaos.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @notice Every book, after every call.
    function invariant_books() public view {
        _checkViolations();
        _checkConservation();
        _checkRegistry();
        _checkMarket();
        _checkDistributor();
    }

    /// @notice The handler can drive a round from posting to a paid claim (a guard against a
    /// handler that silently stopped reaching the later calls: those would then never be fuzzed).
    function test_handlerDrivesARoundToAClaim() public {
        ProjectId id = ProjectId.wrap(1);
        handler.postProject(0, 0, 2, 1 ether);
        handler.join(0, 0);
        handler.startProject(0);
        handler.commit(0, 1);
        require(market.getRound(id, 1).commits == 1, "commit");
        handler.reveal(0, 1); // the only eligible trainer committed: reveals open at once
        require(market.getRound(id, 1).reveals == 1, "reveal");
        handler.warp(100);
        handler.submitResult(0, 1, 7);
        require(market.getRound(id, 1).status == IFedMarket.RoundStatus.Posted, "submit");
        handler.attest(0, 1, true);
        require(market.getRound(id, 1).agrees == 1, "attest");
        handler.finalize(0, 0);
        require(market.getRound(id, 1).status == IFedMarket.RoundStatus.Finalized, "finalize");
        handler.claim(0, 0, 0, 0);
        require(handler.claims(1, 1, handler.leafAt(1, 1, 0).trainer) == 1, "claim");
        invariant_books();
    }

    /// @dev The handler saw no successful call break a rule (double claim, outsider paid,
    /// off-committee vote, wrong payout amount, stake grown or over-slashed).
    function _checkViolations() internal view {
        string memory v = handler.violation();
        require(bytes(v).length == 0, v);
    }

    /// @dev All ether the contracts hold is what entered minus what left, to the wei.
    function _checkConservation() internal view {
        uint256 held = address(registry).balance + address(market).balance
            + address(distributor).balance;
        require(held == handler.ghostIn() - handler.ghostOut(), "ether in - out != held");
    }

    /// @dev Registry balance == totalStaked == sum of stakes == deposits - slashes, per actor.
    function _checkRegistry() internal view {
        uint256 sum;
        for (uint256 i = 0; i < actors.length; ++i) {
            address a = actors[i];
            uint256[4] memory books = handler.stakeBooks(a);
            for (uint256 k = 0; k < 2; ++k) {
                uint256 stake = registry.stakeOf(a, k == 0 ? TRAINER : VERIFIER);
                uint256 paidIn = books[2 * k];
                uint256 slashedSoFar = books[2 * k + 1];
                require(slashedSoFar <= paidIn, "slashed more than staked");
                require(stake == paidIn - slashedSoFar, "stake != deposits - slashes");
                sum += stake;
            }
        }
        require(registry.totalStaked() == sum, "totalStaked != sum of stakes");
        require(address(registry).balance == sum, "registry balance != stakes");
    }

    /// @dev Market balance == escrow + bonds + credits + compensation, each total equal to the
    /// sum of its parts (per project, per account, per round).
    function _checkMarket() internal view {
        uint256 escrow;
        uint256 bonds;
        uint256 compensation;
        uint256 count = market.projectCount();
        for (uint256 id = 1; id <= count; ++id) {
            IFedMarket.Project memory p = market.getProject(ProjectId.wrap(id));
            escrow += p.escrow;
            if (p.bondHeld) bonds += p.params.aggregatorBond;
            if (p.status != IFedMarket.ProjectStatus.Running
                && p.status != IFedMarket.ProjectStatus.Created)
            {
                require(p.escrow == 0 && !p.bondHeld, "a closed project still holds ether");
            }
            for (uint256 r = 1; r <= p.params.rounds; ++r) {
                (, uint256 left,) = market.compensationOf(ProjectId.wrap(id), r);
                compensation += left;
            }
        }
        uint256 credits;
        for (uint256 i = 0; i < actors.length; ++i) credits += market.creditOf(actors[i]);
        require(market.totalEscrow() == escrow, "totalEscrow != sum of project escrows");
        require(market.totalBonds() == bonds, "totalBonds != sum of held bonds");
        require(market.totalCredits() == credits, "totalCredits != sum of credits");
        require(market.totalCompensation() == compensation, "totalCompensation != sum left");
        require(address(market).balance == escrow + bonds + credits + compensation,
            "market balance != escrow + bonds + credits + compensation");
        require(market.totalOwed() == address(market).balance, "market totalOwed != balance");
    }

    /// @dev Distributor balance == totalOwed == sum of funded rounds' unclaimed totals; each
    /// round's claimed sum is what the handler saw paid, or its total once reclaimed.
    function _checkDistributor() internal view {
        uint256 owed;
        uint256 count = market.projectCount();
        for (uint256 id = 1; id <= count; ++id) {
            for (uint256 r = 1; r <= maxRounds; ++r) {
                IRewardDistributor.RoundFunds memory f =
                    distributor.roundFunds(ProjectId.wrap(id), r);
                require(f.claimed <= f.total, "claimed above the funded total");
                require(handler.paidOut(id, r) <= f.claimed, "paid more than recorded claimed");
                owed += uint256(f.total) - f.claimed;
                _checkLeaves(id, r);
            }
        }
        require(distributor.totalOwed() == owed, "distributor totalOwed != sum unclaimed");
        require(address(distributor).balance == owed, "distributor balance != owed");
    }

    /// @dev Each posted leaf is settled at most once, and only for a revealed trainer.
    function _checkLeaves(uint256 id, uint256 r) internal view {
        (MarketHandler.Leaf[] memory leaves, uint256[] memory times, bool[] memory revealers) =
            handler.leafBooks(id, r);
        for (uint256 i = 0; i < leaves.length; ++i) {
            address t = leaves[i].trainer;
            require(times[i] <= 1, "a leaf settled twice");
            require(distributor.isClaimed(ProjectId.wrap(id), r, t) == (times[i] == 1),
                "distributor's claimed flag disagrees with the payouts");
            if (times[i] == 0) continue;
            require(revealers[i], "paid a trainer who did not reveal");
            require(market.submissionOf(ProjectId.wrap(id), r, t)
                == IFedMarket.SubmissionStatus.Revealed, "paid a non-revealed submission");
        }
    }
}
