pragma circom 2.1.0;

// One fedmarket round, proven: the published outlier flags are exactly the integer Multi-Krum
// selection on the committed fixed-point sketches, and the published reward amounts are exactly
// the floor-proportional split of the pool over the published scores of accepted trainers.
// What this does and does not cover is written down in verifier/zk/README.md; the Python
// reference of every rule below is verifier/zk/krum.py (the witness hints come from there).

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// 0 <= in < 2^n, as a constraint (the bits are thrown away).
template InRange(n) {
    signal input in;
    component bits = Num2Bits(n);
    bits.in <== in;
}

// N trainer slots, K sketch coordinates of B bits each (offset encoded: zero is 2^(B-1)).
template RoundProof(N, K, B) {
    assert(N >= 4 && N <= 16);          // Poseidon(N) over the slots; 5 bits of index in keys
    assert(K * B <= 252);               // one sketch packs into one field element
    var DIST_BITS = 2 * B + 4;          // K <= 16 squared B-bit differences: d < 2^(2B+4)
    var KEY_BITS = DIST_BITS + 4 + 5;   // Krum score: <= 16 distances; then 5 index bits
    var SCORE_BITS = 64;                // published fixed-point contribution score
    var AMOUNT_BITS = 96;               // wei: pool and every amount
    var WEIGHT_BITS = SCORE_BITS + 4;   // sum of at most 16 scores

    // ---- public statement ----
    signal input sketchRoot;            // Poseidon(c_0..c_{N-1}), c_i = Poseidon(pack(sketch_i))
    signal input decisionsRoot;         // Poseidon(leaf_0..), leaf_i = amount + score*2^96 + flag*2^160
    signal input pool;                  // wei split among accepted trainers
    signal input nActive;               // trainers in this round: slots 0..nActive-1
    signal input f;                     // Multi-Krum: assumed Byzantine count
    signal input m;                     // Multi-Krum: number of trainers selected (accepted)
    signal input seed;                  // the round's on-chain sketch seed (bound, not used)

    // ---- private: the sketches and the published decisions ----
    signal input sketch[N][K];          // offset-encoded coordinates in [0, 2^B)
    signal input flag[N];               // 1 = outlier (rejected by Multi-Krum)
    signal input score[N];
    signal input amount[N];

    // ---- private: witness hints, every one checked below ----
    signal input neighbour[N][N];       // neighbour[i][j] = 1: j is one of i's n-f-2 closest
    signal input tau[N];                // i's neighbour threshold distance
    signal input keyThreshold;          // largest selected Krum key
    signal input remainder[N];          // pool*w_i mod W

    signal seedSquare <== seed * seed;  // keeps the seed in the proof's constraint system

    // ---- parameters: 1 <= m <= n <= N, n >= f + 3 (so q = n - f - 2 >= 1) ----
    component nRange = InRange(8);
    nRange.in <== N - nActive;
    component fRange = InRange(8);
    fRange.in <== f;
    component qRange = InRange(8);
    qRange.in <== nActive - f - 3;
    component mLow = InRange(8);
    mLow.in <== m - 1;
    component mHigh = InRange(8);
    mHigh.in <== nActive - m;
    signal q <== nActive - f - 2;

    signal active[N];
    component isActive[N];
    for (var i = 0; i < N; i++) {
        isActive[i] = LessThan(8);
        isActive[i].in[0] <== i;
        isActive[i].in[1] <== nActive;
        active[i] <== isActive[i].out;
    }

    // ---- sketches: range, packing, commitments; empty slots pack to 0 ----
    component coord[N][K];
    signal packed[N];
    component commit[N];
    component root = Poseidon(N);
    for (var i = 0; i < N; i++) {
        var acc = 0;
        for (var j = 0; j < K; j++) {
            coord[i][j] = InRange(B);
            coord[i][j].in <== sketch[i][j];
            acc += sketch[i][j] * (1 << (B * j));
        }
        packed[i] <== acc;
        packed[i] * (1 - active[i]) === 0;
        commit[i] = Poseidon(1);
        commit[i].inputs[0] <== packed[i];
        root.inputs[i] <== commit[i].out;
    }
    root.out === sketchRoot;

    // ---- pairwise squared distances ----
    signal sq[N][N][K];
    signal dist[N][N];
    signal pairActive[N][N];
    for (var i = 0; i < N; i++) {
        for (var j = i + 1; j < N; j++) {
            var acc = 0;
            for (var c = 0; c < K; c++) {
                sq[i][j][c] <== (sketch[i][c] - sketch[j][c]) * (sketch[i][c] - sketch[j][c]);
                acc += sq[i][j][c];
            }
            dist[i][j] <== acc;
            pairActive[i][j] <== active[i] * active[j];
        }
    }

    // ---- Krum scores: sum of distances to the q closest other active trainers ----
    // Hint check: the chosen neighbours are all <= tau_i and the others are all >= tau_i, so
    // their sum is the sum of the q smallest distances whatever ties there are.
    signal gap[N][N];
    component gapRange[N][N];
    signal contrib[N][N];
    signal krum[N];
    signal qActive[N];
    for (var i = 0; i < N; i++) {
        var count = 0;
        var total = 0;
        for (var j = 0; j < N; j++) {
            if (j == i) {
                neighbour[i][j] === 0;
            } else {
                var a = i < j ? i : j;
                var b = i < j ? j : i;
                neighbour[i][j] * (neighbour[i][j] - 1) === 0;
                neighbour[i][j] * (1 - pairActive[a][b]) === 0;
                // active pair: neighbour -> tau - d >= 0, otherwise d - tau >= 0; else 0
                gap[i][j] <== (dist[a][b] - tau[i]) * (pairActive[a][b] - 2 * neighbour[i][j]);
                gapRange[i][j] = InRange(DIST_BITS);
                gapRange[i][j].in <== gap[i][j];
                contrib[i][j] <== neighbour[i][j] * dist[a][b];
                count += neighbour[i][j];
                total += contrib[i][j];
            }
        }
        qActive[i] <== q * active[i];
        count === qActive[i];
        krum[i] <== total;
    }

    // ---- Multi-Krum: accept exactly the m smallest keys (score, then slot index) ----
    signal selected[N];
    signal keyGap[N];
    component keyRange[N];
    var acceptedCount = 0;
    for (var i = 0; i < N; i++) {
        flag[i] * (flag[i] - 1) === 0;
        flag[i] * (1 - active[i]) === 0;
        selected[i] <== active[i] - flag[i];
        acceptedCount += selected[i];
        // accepted: threshold - key >= 0; rejected: key - threshold - 1 >= 0; empty: 0
        keyGap[i] <== (keyThreshold - krum[i] * 32 - i) * (selected[i] - flag[i]) - flag[i];
        keyRange[i] = InRange(KEY_BITS);
        keyRange[i].in <== keyGap[i];
    }
    acceptedCount === m;

    // ---- rewards: amount_i = floor(pool * w_i / W), w_i = score_i of accepted, W = sum ----
    component poolRange = InRange(AMOUNT_BITS);
    poolRange.in <== pool;
    component scoreRange[N];
    component amountRange[N];
    component remRange[N];
    component remBelow[N];
    signal weight[N];
    var weightSum = 0;
    for (var i = 0; i < N; i++) {
        scoreRange[i] = InRange(SCORE_BITS);
        scoreRange[i].in <== score[i];
        score[i] * (1 - active[i]) === 0;
        amountRange[i] = InRange(AMOUNT_BITS);
        amountRange[i].in <== amount[i];
        remRange[i] = InRange(WEIGHT_BITS);
        remRange[i].in <== remainder[i];
        weight[i] <== selected[i] * score[i];
        weightSum += weight[i];
    }
    signal totalWeight <== weightSum;
    component noWeight = IsZero();
    noWeight.in <== totalWeight;
    signal share[N];
    signal paid[N];
    signal remSlack[N];
    for (var i = 0; i < N; i++) {
        share[i] <== pool * weight[i];
        paid[i] <== amount[i] * totalWeight;
        share[i] === paid[i] + remainder[i];
        amount[i] * noWeight.out === 0;             // nothing to split: nobody is paid
        remSlack[i] <== (totalWeight - 1 - remainder[i]) * (1 - noWeight.out);
        remBelow[i] = InRange(WEIGHT_BITS);        // remainder < W
        remBelow[i].in <== remSlack[i];
    }

    // ---- the published decisions, hashed ----
    component decisions = Poseidon(N);
    for (var i = 0; i < N; i++) {
        decisions.inputs[i] <== amount[i] + score[i] * (1 << 96) + flag[i] * (1 << 160);
    }
    decisions.out === decisionsRoot;
}
