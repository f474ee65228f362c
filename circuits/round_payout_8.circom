pragma circom 2.1.0;

// Fixed size for the committed trusted setup: 8 trainer slots.
include "round_payout.circom";

component main {public [measurementsRoot, statement, r, h]} = RoundPayout(8);
