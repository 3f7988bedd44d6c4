// proto/check.h - pass 1 of decoding, internal to proto/: a structural
// check of the raw msgpack bytes of a frame before msgpack-c reads them.
#ifndef APEX_PROTO_CHECK_H
#define APEX_PROTO_CHECK_H

#include <stddef.h>

#include "common/error.h"

// Check that data holds exactly one msgpack object in 1 to
// PROTO_MAX_FRAME bytes, nested at most PROTO_MAX_DEPTH deep, whose
// declared lengths and element counts fit in the bytes present. Returns
// 0, or -1 with err set to "frame of N bytes: what was wrong".
int proto_check_frame(const void *data, size_t size, apex_error_t *err);

#endif
