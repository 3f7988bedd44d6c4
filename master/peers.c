// master/peers.c - see peers.h.
//
// Linear probing over a power-of-two table of slots (index + 1 into the
// entries, 0 empty), at most half full. Entries are never removed one by
// one (linear probing has no cheap delete): when the table must grow,
// it is rebuilt from the entries still worth keeping (a count above
// zero, or a refusal logged), which also drops addresses long gone.
#include "master/peers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

#define S_MIN_SLOTS 16

typedef struct {
    char *address; // the peer's IP address, as text
    size_t count;  // workers registered from it
    bool refused;  // a refusal was logged for it
} s_peer_t;

struct master_peers {
    s_peer_t *peers;      // entries, in no order
    size_t npeers;        // their number
    size_t *slots;        // index + 1 into peers, 0 = empty
    size_t nslots;        // a power of two, > 2 * npeers
    bool refused_unknown; // a refusal was logged for an unknown address
};

master_peers_t *master_peers_new(void)
{
    return apex_calloc(1, sizeof(master_peers_t));
}

void master_peers_destroy(master_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    master_peers_t *self = *self_p;
    for (size_t i = 0; i < self->npeers; i++)
        free(self->peers[i].address);
    free(self->peers);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

// FNV-1a.
static size_t s_hash(const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

static s_peer_t *s_find(const master_peers_t *self, const char *address)
{
    if (!self->nslots)
        return NULL;
    size_t mask = self->nslots - 1;
    for (size_t k = s_hash(address) & mask; self->slots[k];
         k = (k + 1) & mask) {
        s_peer_t *p = &self->peers[self->slots[k] - 1];
        if (strcmp(p->address, address) == 0)
            return p;
    }
    return NULL;
}

// Keep the entries worth keeping and index them in a table with room
// for one more.
static void s_rebuild(master_peers_t *self)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->npeers; i++) {
        if (self->peers[i].count || self->peers[i].refused)
            self->peers[kept++] = self->peers[i];
        else
            free(self->peers[i].address);
    }
    self->npeers = kept;
    size_t want = S_MIN_SLOTS;
    while (want <= 2 * (kept + 1))
        want *= 2;
    free(self->slots);
    self->slots = apex_calloc(want, sizeof *self->slots);
    self->nslots = want;
    self->peers = apex_realloc(self->peers, want / 2, sizeof *self->peers);
    for (size_t i = 0; i < kept; i++) {
        size_t k = s_hash(self->peers[i].address) & (want - 1);
        while (self->slots[k])
            k = (k + 1) & (want - 1);
        self->slots[k] = i + 1;
    }
}

// The entry of address, made if missing.
static s_peer_t *s_get(master_peers_t *self, const char *address)
{
    s_peer_t *p = s_find(self, address);
    if (p)
        return p;
    if (2 * (self->npeers + 1) >= self->nslots)
        s_rebuild(self);
    size_t i = self->npeers++;
    self->peers[i] = (s_peer_t){apex_strdup(address), 0, false};
    size_t k = s_hash(address) & (self->nslots - 1);
    while (self->slots[k])
        k = (k + 1) & (self->nslots - 1);
    self->slots[k] = i + 1;
    return &self->peers[i];
}

size_t master_peers_count(const master_peers_t *self, const char *address)
{
    const s_peer_t *p = address ? s_find(self, address) : NULL;
    return p ? p->count : 0;
}

void master_peers_add(master_peers_t *self, const char *address, int delta)
{
    if (!address)
        return;
    s_peer_t *p = s_get(self, address);
    if (delta > 0)
        p->count++;
    else if (p->count > 0)
        p->count--;
}

bool master_peers_first_refusal(master_peers_t *self, const char *address)
{
    bool *refused =
        address ? &s_get(self, address)->refused : &self->refused_unknown;
    bool first = !*refused;
    *refused = true;
    return first;
}
