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
 *   2. Only a user change alters a compiled Snapshot, through
 *      snapshot_patch_user(), which appends the user's new records and
 *      rewrites the few words that refer to them, logging each rewrite in a
 *      SnapshotUndo; snapshot_undo() puts the buffer back exactly as it was
 *      at a mark.  Every other change compiles a new buffer.
 *   3. generation increases by one for every committed change.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct Snapshot Snapshot;

#define SNAPSHOT_MAGIC "CRSNAP01"
#define SNAPSHOT_VERSION 3

int snapshot_compile(const Model *m, uint64_t generation, Snapshot **ret);
Snapshot *snapshot_free(Snapshot *s);

uint64_t snapshot_generation(const Snapshot *s);
const void *snapshot_data(const Snapshot *s);   /* the flat buffer */
size_t snapshot_size(const Snapshot *s);
size_t snapshot_n_users(const Snapshot *s);
size_t snapshot_n_roles(const Snapshot *s);
size_t snapshot_n_accounts(const Snapshot *s);
size_t snapshot_n_permissions(const Snapshot *s);

/* The undo log of patches: entries since a mark can be undone (a change
 * that failed validation, a group whose commit failed), all of them
 * forgotten once committed. */
typedef struct SnapshotUndo {
        struct UndoEntry *items;
        size_t n, cap;
} SnapshotUndo;

/* Makes user name as mu describes it (mu NULL: deleted), in place.  *s may
 * move (the buffer grows).  On failure the caller must snapshot_undo() to
 * its mark.  *ret_held_changed (may be NULL) says whether some account
 * gained or lost its last holder of a role, which can change what no-role=
 * conditions grant to everyone else there. */
int snapshot_patch_user(Snapshot **s, const char *name, const ModelUser *mu, SnapshotUndo *undo,
                        bool *ret_held_changed);
int snapshot_set_generation(Snapshot *s, uint64_t generation, SnapshotUndo *undo);
size_t snapshot_undo_mark(const SnapshotUndo *undo);
void snapshot_undo(Snapshot *s, SnapshotUndo *undo, size_t mark);
void snapshot_undo_forget(SnapshotUndo *undo);
void snapshot_undo_done(SnapshotUndo *undo);
/* Enough garbage or added users that a full compile is due. */
bool snapshot_wants_compile(const Snapshot *s);
