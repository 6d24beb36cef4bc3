/*
 * snapshot.h: the compiled, read-only form of the role model that checks
 * are answered from.
 *
 * A Snapshot is one contiguous, position-independent buffer: a versioned
 * header, then tables that refer to each other and to a string table by
 * 32-bit offsets from the start of the buffer, never by pointers.  So the
 * same bytes could be written to a file under /run and mapped read-only by
 * clients, as SSSD's memory cache is for NSS.  Users and permissions are
 * found through open-addressing hash tables inside the buffer; a role's
 * permissions are a bitset indexed by permission number.
 *
 * Invariants:
 *   1. Every offset in the buffer is < size and aligned for what it names.
 *   2. A Snapshot is never changed after snapshot_compile() returns; a new
 *      generation is a new buffer.
 *   3. generation increases by one for every committed change.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct Snapshot Snapshot;

#define SNAPSHOT_MAGIC "CRSNAP01"
#define SNAPSHOT_VERSION 2

int snapshot_compile(const Model *m, uint64_t generation, Snapshot **ret);
Snapshot *snapshot_free(Snapshot *s);

uint64_t snapshot_generation(const Snapshot *s);
const void *snapshot_data(const Snapshot *s);   /* the flat buffer */
size_t snapshot_size(const Snapshot *s);
size_t snapshot_n_users(const Snapshot *s);
size_t snapshot_n_roles(const Snapshot *s);
size_t snapshot_n_accounts(const Snapshot *s);
size_t snapshot_n_permissions(const Snapshot *s);
