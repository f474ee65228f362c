pragma circom 2.1.0;

// Fixed size for the committed trusted setup: 16 trainer slots, sketch dimension 16, 14 bits.
include "round_proof.circom";

component main {public [sketchRoot, decisionsRoot, pool, nActive, f, m, seed]} = RoundProof(16, 16, 14);
