/*
 * helper-daemon.h: starts a real callroled for integration tests, on a
 * socket and database in a fresh temporary folder, runs callrolectl
 * against it, and makes plain libcallrole calls for group setups.  The
 * binaries are taken from $CALLROLE_BUILD (default "build"), profiles from
 * $CALLROLE_SOURCE/profiles.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "callrole.h"

typedef struct TestDaemon {
        char dir[256];
        char socket[300];
        char db[300];
        char log[300];
        pid_t pid;
} TestDaemon;

/* Creates the folder and starts the daemon with --admin-uid of the caller;
 * extra is NULL or a NULL-terminated list of further arguments.  Waits
 * until the socket answers.  Returns 0 or a negative errno. */
int test_daemon_start(TestDaemon *d, const char *const *extra);
/* Starts again on the same folder (same database). */
int test_daemon_restart(TestDaemon *d, const char *const *extra);
/* SIGTERM and wait; returns the exit status, or -1 if it had to be killed. */
int test_daemon_stop(TestDaemon *d);
void test_daemon_kill(TestDaemon *d, int sig);
/* Stops it and removes the folder. */
void test_daemon_cleanup(TestDaemon *d);

/* Runs "callrolectl --socket SOCK ARGS..." (args NULL-terminated), returns
 * its exit code and its stdout (and stderr, separately) in malloc'ed
 * strings the caller frees; either ret may be NULL. */
int test_ctl(const TestDaemon *d, char **ret_out, char **ret_err, const char *arg, ...) __attribute__((sentinel));
/* The same with uid/gid dropped to uid (root only). */
int test_ctl_as_uid(const TestDaemon *d, uid_t uid, char **ret_out, char **ret_err, const char *arg, ...)
        __attribute__((sentinel));

/* callrole_call() of method through c with a record of KEY, VALUE pairs
 * up to a NULL key (a repeated key adds a value, a NULL value makes an
 * empty list); the reply is dropped.  No cmocka asserts, so group setups
 * may use it: returns the result and prints a failure, with the library's
 * message, to stderr. */
int test_daemon_call(callrole *c, const char *method, ...) __attribute__((sentinel));

const char *test_build_dir(void);
const char *test_source_dir(void);
/* Removes a folder tree (test scratch only). */
void test_rm_rf(const char *path);
/* Mounts a tmpfs of size ("1m") on a new folder under /tmp, whose path
 * goes to dir (n bytes); 0, or -errno where that cannot be (not root), so
 * the caller can skip.  A small disk of its own for disk-full tests. */
int test_tmpfs_mount(const char *size, char *dir, size_t n);
/* Unmounts and removes it and empties dir; nothing when dir is "". */
void test_tmpfs_unmount(char *dir);
