// master/peers.h - the addresses workers connect from (ZeroMQ's
// Peer-Address: the peer's IP): how many registered workers each holds,
// so master/registry.c can bound registrations per address, and whether
// a refusal was already logged for it. An open-addressing table keyed by
// the address text; an address whose count falls to zero and was never
// refused is dropped when the table is rebuilt, so it does not grow with
// addresses long gone.
#ifndef MASTER_PEERS_H
#define MASTER_PEERS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct master_peers master_peers_t; // opaque

// An empty table. Never returns NULL.
master_peers_t *master_peers_new(void);

// Free *self_p and set it to NULL; does nothing if *self_p is NULL.
void master_peers_destroy(master_peers_t **self_p);

// Workers registered from address now (0 for NULL: an unknown address).
size_t master_peers_count(const master_peers_t *self, const char *address);

// One more worker registered from address (delta 1), or one fewer (-1).
// Does nothing for NULL.
void master_peers_add(master_peers_t *self, const char *address, int delta);

// True the first time it is asked for address (NULL counts as one
// address): log a refusal of a peer only once.
bool master_peers_first_refusal(master_peers_t *self, const char *address);

#endif
