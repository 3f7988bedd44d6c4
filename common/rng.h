// common/rng.h - the one pseudo-random generator of the suite: xorshift64*
// on a 64-bit state the caller owns (a user's, an engine's, a test's), so
// threads share nothing and a seed replays a sequence exactly. Not for
// secrets.
#ifndef APEX_RNG_H
#define APEX_RNG_H

#include <stdint.h>

// A valid state from any seed (0 included): the seed is mixed with
// splitmix64, so nearby seeds give unrelated sequences. Never 0.
uint64_t apex_rng_seed(uint64_t seed);

// The next value of a state; *state must not be 0 (apex_rng_seed()).
uint64_t apex_rng_next(uint64_t *state);

// A double uniform in [0, 1), from the top 53 bits of the next value.
double apex_rng_unit(uint64_t *state);

// A uniform integer in [0, n), without modulo bias; 0 when n is 0.
uint64_t apex_rng_below(uint64_t *state, uint64_t n);

#endif
