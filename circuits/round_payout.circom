pragma circom 2.1.0;

// One fedmarket round, proven: every trainer's acceptance and every wei it is paid follow
// exactly from the round's committed per-trainer measurements.
//
// For the default rule (`trusted`) the acceptance decision itself is derived here from the
// trainer's measurements (cosine to the owner's reference update, largest cosine to another
// update, cosine to the others' combination, the rival-group mark and its per-class gain);
// for any other rule the published verdict is taken as committed. The amounts are then the
// floor-proportional split of the pool over the positive contributions of accepted trainers,
// or, when none is positive, the "equal" fallback. The amounts and verdicts are bound to the
// calldata the chain rebuilds the rewards tree from through the public challenge r and binding
// h (fedmarket/zk/binding.py). The Python reference of every step is fedmarket/zk/payout.py;
// what this does and does not establish is written down in verifier/zk/README.md.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// 0 <= in < 2^n, as a constraint (the bits are thrown away).
template InRange(n) {
    signal input in;
    component bits = Num2Bits(n);
    bits.in <== in;
}

template RoundPayout(N) {
    assert(N >= 1 && N <= 64);
    var CHUNK = 15;              // the measurements root: Poseidon(16) chunks of 15 elements,
    var CHUNKS = (2 * N + CHUNK - 1) \ CHUNK;  // 2 per slot (leaf, trainer), padded with 0
    var COS_BITS = 18;           // an offset cosine: c * 2^16 + 2^16, in [0, 2^17]
    var CONTRIB_BITS = 41;       // an offset contribution: c + 2^40, in [0, 2^41)
    var LEAF_BITS = 3 + 4 * COS_BITS + CONTRIB_BITS;
    var PARAM_BITS = 3 + 3 * COS_BITS;
    var AMOUNT_BITS = 96;        // wei: the pool and every amount
    var WEIGHT_BITS = 47;        // sum of <= 64 positive contributions < 2^40: < 2^46
    var COUNT_BITS = 7;          // trainer counts <= 64

    // ---- public statement ----
    signal input measurementsRoot;   // Poseidon chain over (leaf, trainer) of the round's slots
    signal input statement;          // params | nActive << 57 | pool << 64 (one input: gas)
    signal input r;                  // payout challenge (computed on chain)
    signal input h;                  // binding: sum (2 amount_i + accepted_i) r^2i + trainer_i r^(2i+1)

    // ---- private: the committed measurements and the witness hints (all checked) ----
    signal input leaf[N];            // packed measurements of slot i (0 for an empty slot)
    signal input trainer[N];         // slot i's trainer address as an integer (0 if empty)
    signal input share[N];           // floor(pool * w_i / W)
    signal input remainder[N];       // pool * w_i mod W
    signal input equalShare;         // floor(pool / k), k = accepted trainers
    signal input equalRemainder;     // pool mod k

    // ---- the packed statement: rule parameters (57 bits), nActive (7), pool (96, wei) ----
    component paramBits = Num2Bits(PARAM_BITS + COUNT_BITS + AMOUNT_BITS);
    paramBits.in <== statement;
    var nActiveSum = 0;
    for (var b = 0; b < COUNT_BITS; b++) {
        nActiveSum += paramBits.out[PARAM_BITS + b] * (1 << b);
    }
    signal nActive <== nActiveSum;       // trainers in this round: slots 0..nActive-1
    var poolSum = 0;
    for (var b = 0; b < AMOUNT_BITS; b++) {
        poolSum += paramBits.out[PARAM_BITS + COUNT_BITS + b] * (1 << b);
    }
    signal pool <== poolSum;             // wei split among trainers (< 2^96 by construction)
    signal trustedRule <== paramBits.out[0];     // 1: derive acceptance (rule `trusted`)
    signal oneVote <== paramBits.out[1];         // 1: near-copies share a vote (not rejected)
    signal equalFallback <== paramBits.out[2];   // 1: "equal" fallback, 0: "none"
    var floorCos = 0;                            // trust needs ref cosine > floor
    var groupCos = 0;                            // near-copy: cosine >= group threshold
    var gainMin = 0;                             // a rival group is readmitted at gain >= this
    for (var b = 0; b < COS_BITS; b++) {
        floorCos += paramBits.out[3 + b] * (1 << b);
        groupCos += paramBits.out[3 + COS_BITS + b] * (1 << b);
        gainMin += paramBits.out[3 + 2 * COS_BITS + b] * (1 << b);
    }

    // ---- 1 <= nActive <= N; slot i is active iff i < nActive ----
    component nHigh = InRange(COUNT_BITS);
    nHigh.in <== N - nActive;
    component nLow = InRange(COUNT_BITS);
    nLow.in <== nActive - 1;
    component isActive[N];
    for (var i = 0; i < N; i++) {
        isActive[i] = LessThan(COUNT_BITS);
        isActive[i].in[0] <== i;
        isActive[i].in[1] <== nActive;
        leaf[i] * (1 - isActive[i].out) === 0;   // an empty slot commits nothing
        trainer[i] * (1 - isActive[i].out) === 0;
    }

    // ---- the commitment: acc_0 = 0, acc_{c+1} = Poseidon(acc_c, elements of chunk c), over
    // ---- leaf_0, trainer_0, ..., trainer_{n-1} then 0: ceil(2n / 15) chunks for n trainers,
    // ---- so the root depends on the round, not on the circuit's size ----
    component chunk[CHUNKS];
    for (var c = 0; c < CHUNKS; c++) {
        chunk[c] = Poseidon(CHUNK + 1);
        if (c == 0) {
            chunk[c].inputs[0] <== 0;
        } else {
            chunk[c].inputs[0] <== chunk[c - 1].out;
        }
        for (var j = 0; j < CHUNK; j++) {
            var e = c * CHUNK + j;
            var slot = e \ 2;
            if (slot < N && e % 2 == 0) {
                chunk[c].inputs[1 + j] <== leaf[slot];
            } else if (slot < N) {
                chunk[c].inputs[1 + j] <== trainer[slot];
            } else {
                chunk[c].inputs[1 + j] <== 0;
            }
        }
    }
    signal chunksUsed;                      // ceil(2 nActive / 15), in [1, CHUNKS]
    chunksUsed <-- (2 * nActive + CHUNK - 1) \ CHUNK;
    component usedHigh = InRange(COUNT_BITS + 1);   // 15 k - 2n >= 0
    usedHigh.in <== CHUNK * chunksUsed - 2 * nActive;
    component usedLow = InRange(4);                 // 2n - 15 (k - 1) - 1 in [0, 14]
    usedLow.in <== 2 * nActive - CHUNK * chunksUsed + CHUNK - 1;
    component isLast[CHUNKS];
    signal picked[CHUNKS];
    var rootSum = 0;
    for (var c = 0; c < CHUNKS; c++) {
        isLast[c] = IsEqual();
        isLast[c].in[0] <== chunksUsed;
        isLast[c].in[1] <== c + 1;
        picked[c] <== isLast[c].out * chunk[c].out;
        rootSum += picked[c];
    }
    rootSum === measurementsRoot;

    // ---- each slot: unpack, decide acceptance, positive contribution ----
    component bits[N];
    component trustOk[N];
    component isolated[N];
    component apart[N];
    component belowGain[N];
    component positive[N];
    signal accepted[N];
    signal isolatedOrVote[N];
    signal step1[N];
    signal step2[N];
    signal step3[N];
    signal keptDespiteRival[N];
    signal derived[N];
    signal paid[N];
    signal weight[N];
    var acceptedSum = 0;
    var weightSum = 0;
    for (var i = 0; i < N; i++) {
        bits[i] = Num2Bits(LEAF_BITS);
        bits[i].in <== leaf[i];
        var usable = bits[i].out[0];             // passed validation, non-zero update
        var rival = bits[i].out[1];              // in a rival group of the majority cluster
        var given = bits[i].out[2];              // the published verdict (1 = accepted)
        var refCos = 0;
        var maxCos = 0;
        var consensusCos = 0;
        var gain = 0;
        for (var b = 0; b < COS_BITS; b++) {
            refCos += bits[i].out[3 + b] * (1 << b);
            maxCos += bits[i].out[3 + COS_BITS + b] * (1 << b);
            consensusCos += bits[i].out[3 + 2 * COS_BITS + b] * (1 << b);
            gain += bits[i].out[3 + 3 * COS_BITS + b] * (1 << b);
        }
        var contribution = 0;
        for (var b = 0; b < CONTRIB_BITS; b++) {
            contribution += bits[i].out[3 + 4 * COS_BITS + b] * (1 << b);
        }

        trustOk[i] = LessThan(COS_BITS + 1);      // floor < ref cosine
        trustOk[i].in[0] <== floorCos;
        trustOk[i].in[1] <== refCos;
        isolated[i] = LessThan(COS_BITS + 1);     // no near-copy: max cosine < threshold
        isolated[i].in[0] <== maxCos;
        isolated[i].in[1] <== groupCos;
        apart[i] = LessThan(COS_BITS + 1);        // not a copy of the others' combination
        apart[i].in[0] <== consensusCos;
        apart[i].in[1] <== groupCos;
        belowGain[i] = LessThan(COS_BITS + 1);    // rival group's class gain < readmission bar
        belowGain[i].in[0] <== gain;
        belowGain[i].in[1] <== gainMin;

        isolatedOrVote[i] <== oneVote + isolated[i].out - oneVote * isolated[i].out;
        step1[i] <== usable * trustOk[i].out;
        step2[i] <== step1[i] * isolatedOrVote[i];
        step3[i] <== step2[i] * apart[i].out;
        keptDespiteRival[i] <== 1 - rival * belowGain[i].out;
        derived[i] <== step3[i] * keptDespiteRival[i];
        trustedRule * (given - derived[i]) === 0;  // trusted: the verdict is the derived one
        accepted[i] <== given;
        acceptedSum += accepted[i];

        positive[i] = LessThan(CONTRIB_BITS + 1); // contribution > 0
        positive[i].in[0] <== 1 << (CONTRIB_BITS - 1);
        positive[i].in[1] <== contribution;
        paid[i] <== accepted[i] * positive[i].out;
        weight[i] <== paid[i] * (contribution - (1 << (CONTRIB_BITS - 1)));
        weightSum += weight[i];
    }

    // ---- the split: floor(pool * w_i / W), or pool // k each when W = 0 ("equal") ----
    signal totalWeight <== weightSum;
    signal acceptedCount <== acceptedSum;
    component noWeight = IsZero();
    noWeight.in <== totalWeight;
    component nobody = IsZero();
    nobody.in <== acceptedCount;

    component equalRange = InRange(AMOUNT_BITS);
    equalRange.in <== equalShare;
    component equalRemRange = InRange(COUNT_BITS);
    equalRemRange.in <== equalRemainder;
    signal equalPaid <== equalShare * acceptedCount;
    signal poolIfAnyone <== pool * (1 - nobody.out);
    poolIfAnyone === equalPaid + equalRemainder;
    component equalRemBelow = InRange(COUNT_BITS);  // remainder < k (0 when k = 0)
    equalRemBelow.in <== acceptedCount - 1 - equalRemainder + nobody.out;
    signal fallbackOn <== noWeight.out * equalFallback;

    component shareRange[N];
    component remRange[N];
    component remBelow[N];
    signal owed[N];
    signal divided[N];
    signal proportional[N];
    signal equalSlot[N];
    signal equalAmount[N];
    signal amount[N];
    signal power[2 * N];
    signal term[N];
    signal addressTerm[N];
    var binding = 0;
    for (var i = 0; i < N; i++) {
        shareRange[i] = InRange(AMOUNT_BITS);
        shareRange[i].in <== share[i];
        remRange[i] = InRange(WEIGHT_BITS);
        remRange[i].in <== remainder[i];
        owed[i] <== pool * weight[i];
        divided[i] <== share[i] * totalWeight;
        owed[i] === divided[i] + remainder[i];
        remBelow[i] = InRange(WEIGHT_BITS);        // remainder < W (= 0 when W = 0)
        remBelow[i].in <== totalWeight - 1 - remainder[i] + noWeight.out;
        proportional[i] <== share[i] * (1 - noWeight.out);
        equalSlot[i] <== fallbackOn * accepted[i];
        equalAmount[i] <== equalSlot[i] * equalShare;
        amount[i] <== proportional[i] + equalAmount[i];

        if (i == 0) {
            power[0] <== 1;
        } else {
            power[2 * i] <== power[2 * i - 1] * r;
        }
        power[2 * i + 1] <== power[2 * i] * r;
        term[i] <== (2 * amount[i] + accepted[i]) * power[2 * i];
        addressTerm[i] <== trainer[i] * power[2 * i + 1];
        binding += term[i] + addressTerm[i];
    }
    h === binding;
}
