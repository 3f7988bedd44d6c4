// common/rng.c - see rng.h. xorshift64* (Vigna, "An experimental
// exploration of Marsaglia's xorshift generators", 2016): three shifts and
// a multiply, period 2^64 - 1, good enough for think times, task choice
// and template values. Seeds go through one splitmix64 step.
#include "common/rng.h"

#include <assert.h>

#define APEX_RNG_MULTIPLIER 0x2545F4914F6CDD1DULL // xorshift64*
#define APEX_RNG_GOLDEN 0x9e3779b97f4a7c15ULL     // splitmix64 increment
#define APEX_RNG_MIX1 0xbf58476d1ce4e5b9ULL       // splitmix64 multipliers
#define APEX_RNG_MIX2 0x94d049bb133111ebULL
#define APEX_RNG_UNIT_BITS 11 // 64 - 53: the bits a double cannot hold
#define APEX_RNG_UNIT_SCALE 0x1p-53

uint64_t apex_rng_seed(uint64_t seed)
{
    uint64_t z = seed + APEX_RNG_GOLDEN;
    z = (z ^ (z >> 30)) * APEX_RNG_MIX1;
    z = (z ^ (z >> 27)) * APEX_RNG_MIX2;
    z ^= z >> 31;
    return z ? z : APEX_RNG_GOLDEN;
}

uint64_t apex_rng_next(uint64_t *state)
{
    assert(state && *state != 0);
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * APEX_RNG_MULTIPLIER;
}

double apex_rng_unit(uint64_t *state)
{
    return (double)(apex_rng_next(state) >> APEX_RNG_UNIT_BITS) *
           APEX_RNG_UNIT_SCALE;
}

uint64_t apex_rng_below(uint64_t *state, uint64_t n)
{
    if (n == 0)
        return 0;
    // Reject the top partial copy of [0, n) so every value is as likely.
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r = apex_rng_next(state);
    while (r >= limit)
        r = apex_rng_next(state);
    return r % n;
}
