pragma circom 2.1.0;

// Fixed size for the committed trusted setup: 8 trainer slots, sketch dimension 16, 14 bits.
include "round_proof.circom";

component main {public [sketchRoot, decisionsRoot, pool, nActive, f, m, seed]} = RoundProof(8, 16, 14);
