// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IFedMarket} from "../interfaces/IFedMarket.sol";

/// @title Deadlines and phase of a round, from its stored state and the block time.
/// @notice Phases move on by time, and three by completeness: reveals may open before the
/// commit deadline once every eligible trainer (the members when the round started: nobody can
/// join and commit later) has committed, so nobody is left to copy a revealed CID; the result
/// may be posted before the reveal deadline once every committed update is revealed; and the
/// verify phase ends early once more than half of the committee's seats voted one way (the
/// rest cannot change the outcome).
library RoundClock {
    /// @notice The round's deadlines; `verify` is zero until a result is posted.
    function deadlines(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (IFedMarket.Deadlines memory d)
    {
        d.commit = uint64(r.start) + p.commitDuration;
        d.reveal = d.commit + p.revealDuration;
        d.result = d.reveal + p.aggregateDuration;
        d.verify = r.postedAt == 0 ? 0 : uint64(r.postedAt) + p.verifyDuration;
    }

    /// @notice Reveals needed for a result: the project's minimum, and at least one.
    function minReveals(IFedMarket.ProjectParams storage p) internal view returns (uint256) {
        return p.minTrainers > 0 ? p.minTrainers : 1;
    }

    /// @notice Seats on the round's committee: the project's size, or the whole pool if smaller.
    function seats(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (uint256)
    {
        uint256 k = p.committeeSize;
        return r.verifierPool < k ? r.verifierPool : k;
    }

    /// @notice True once a side holds more than half of all seats: the verdict cannot change.
    function decided(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (bool)
    {
        uint256 k = seats(p, r);
        return 2 * uint256(r.agrees) > k || 2 * uint256(r.disagrees) > k;
    }

    /// @notice True once no further commitment can be accepted in the round.
    function commitsOver(IFedMarket.Round storage r, IFedMarket.Deadlines memory d)
        internal
        view
        returns (bool)
    {
        return r.commitsClosed || block.timestamp > d.commit
            || (r.commits > 0 && r.commits == r.eligible);
    }

    /// @notice The round's phase now; `Expired` means a deadline passed (or the committee's
    /// verdict is final) and `advance` acts.
    function phase(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (IFedMarket.RoundPhase)
    {
        IFedMarket.RoundStatus status = r.status;
        if (status == IFedMarket.RoundStatus.None) return IFedMarket.RoundPhase.NotStarted;
        if (status == IFedMarket.RoundStatus.Finalized) return IFedMarket.RoundPhase.Finalized;
        if (status == IFedMarket.RoundStatus.Disputed) return IFedMarket.RoundPhase.Disputed;
        if (status == IFedMarket.RoundStatus.Refunded) return IFedMarket.RoundPhase.Refunded;
        IFedMarket.Deadlines memory d = deadlines(p, r);
        if (status == IFedMarket.RoundStatus.Posted) {
            return block.timestamp > d.verify || decided(p, r)
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
        if (!commitsOver(r, d)) return IFedMarket.RoundPhase.Commit;
        if (r.reveals == r.commits && r.reveals >= needed) return IFedMarket.RoundPhase.Aggregate;
        return IFedMarket.RoundPhase.Reveal;
    }

    /// @notice True once the round's salts are all in: no reveal can change the seed any more.
    function revealsOver(IFedMarket.ProjectParams storage p, IFedMarket.Round storage r)
        internal
        view
        returns (bool)
    {
        IFedMarket.RoundPhase ph = phase(p, r);
        return ph != IFedMarket.RoundPhase.Commit && ph != IFedMarket.RoundPhase.Reveal
            && ph != IFedMarket.RoundPhase.NotStarted;
    }

    /// @notice The pool of `round`: an equal share of the budget, the last round the remainder.
    function pool(uint256 budget, uint256 rounds, uint256 round) internal pure returns (uint256) {
        uint256 share = budget / rounds;
        return round == rounds ? budget - share * (rounds - 1) : share;
    }
}
