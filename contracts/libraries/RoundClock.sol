// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedMarket} from "../interfaces/IFedMarket.sol";

/// @title Deadlines and phase of a round, from its stored state and the block time.
/// @notice Phases move on by time, and two by completeness: reveals may open before the commit
/// deadline once every trainer of the project has committed (nobody is left to copy a revealed
/// CID; the first such reveal closes commits for good), and the result may be posted before
/// the reveal deadline once every committed update is revealed.
library RoundClock {
    /// @notice The round's deadlines; `verify` is zero until a result is posted.
    function deadlines(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (IFedMarket.Deadlines memory d)
    {
        d.commit = r.start + p.commitDuration;
        d.reveal = d.commit + p.revealDuration;
        d.result = d.reveal + p.aggregateDuration;
        d.verify = r.postedAt == 0 ? 0 : r.postedAt + p.verifyDuration;
    }

    /// @notice Reveals needed for a result: the project's minimum, and at least one.
    function minReveals(IFedMarket.ProjectParams storage p) internal view returns (uint256) {
        return p.minTrainers > 0 ? p.minTrainers : 1;
    }

    /// @notice True once no further commitment can be accepted in the round.
    function commitsOver(IFedMarket.Round storage r, IFedMarket.Deadlines memory d,
        uint256 trainerCount) internal view returns (bool)
    {
        return r.commitsClosed || block.timestamp > d.commit
            || (r.commits > 0 && r.commits == trainerCount);
    }

    /// @notice The round's phase now; `Expired` means a deadline passed and `advance` acts.
    function phase(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r,
        uint256 trainerCount) internal view returns (IFedMarket.RoundPhase)
    {
        IFedMarket.RoundStatus status = r.status;
        if (status == IFedMarket.RoundStatus.None) return IFedMarket.RoundPhase.NotStarted;
        if (status == IFedMarket.RoundStatus.Finalized) return IFedMarket.RoundPhase.Finalized;
        if (status == IFedMarket.RoundStatus.Disputed) return IFedMarket.RoundPhase.Disputed;
        if (status == IFedMarket.RoundStatus.Refunded) return IFedMarket.RoundPhase.Refunded;
        IFedMarket.Deadlines memory d = deadlines(p, r);
        if (status == IFedMarket.RoundStatus.Posted) {
            return block.timestamp > d.verify
                ? IFedMarket.RoundPhase.Expired
                : IFedMarket.RoundPhase.Verify;
        }
        if (block.timestamp > d.result) return IFedMarket.RoundPhase.Expired;
        uint256 needed = minReveals(p);
        if (block.timestamp > d.reveal) {
            return r.reveals >= needed
                ? IFedMarket.RoundPhase.Aggregate
                : IFedMarket.RoundPhase.Expired;
        }
        if (!commitsOver(r, d, trainerCount)) return IFedMarket.RoundPhase.Commit;
        if (r.reveals == r.commits && r.reveals >= needed) return IFedMarket.RoundPhase.Aggregate;
        return IFedMarket.RoundPhase.Reveal;
    }

    /// @notice The pool of `round`: an equal share of the budget, the last round the remainder.
    function pool(uint256 budget, uint256 rounds, uint256 round) internal pure returns (uint256) {
        uint256 share = budget / rounds;
        return round == rounds ? budget - share * (rounds - 1) : share;
    }
}
