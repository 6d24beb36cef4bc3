/*
 * args.h: the module arguments of pam_callrole.so, as written after the
 * module path in a PAM service file ("permission=softphone.use quiet").
 *
 * The parser is apart from the module so that a fuzz harness can drive it
 * without a PAM handle.  It keeps no state of its own: everything lands in
 * the caller's struct, whose strings point into argv (PAM keeps argv alive
 * for the whole call), so nothing is allocated and nothing needs freeing.
 *
 * Invariants the module relies on:
 *  1. After callrole_pam_args_parse() returns, every field holds a usable
 *     value: permission is never NULL, timeout_ms is in
 *     1..CALLROLE_PAM_TIMEOUT_MAX_MS.
 *  2. A bad timeout only costs the default (a wrong wait is harmless), but
 *     a bad permission=, account= or socket= value would change who gets
 *     in; the parser then returns -EINVAL and the module must refuse
 *     (fail closed) instead of falling back to a default.
 *  3. socket is never taken from the environment: a set-uid program such
 *     as su runs the module with the caller's environment, and a caller
 *     must not be able to point it at a daemon of their own.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

#define CALLROLE_PAM_PERMISSION_DEFAULT "login"
#define CALLROLE_PAM_TIMEOUT_DEFAULT_MS 2000u
#define CALLROLE_PAM_TIMEOUT_MAX_MS 60000u

typedef struct callrole_pam_args {
        const char *permission;   /* default "login" */
        const char *account;      /* NULL: the user's only account */
        const char *socket;       /* NULL: CALLROLE_SOCKET_DEFAULT */
        unsigned timeout_ms;      /* bound on the whole lookup */
        bool ignore_unknown_user;
        bool ignore_unavailable;
        bool debug;
        bool quiet;
} callrole_pam_args;

/* Receives one complaint per bad or unknown argument (the module sends
 * them to pam_syslog at LOG_ERR).  May be NULL. */
typedef void (*callrole_pam_log_t)(void *userdata, const char *format, ...) _printf_(2, 3);

/* Fill *args from argv (argc entries; NULL entries are skipped).  Unknown
 * arguments and bad timeouts are reported and ignored; later arguments
 * override earlier ones.  Returns 0, or -EINVAL when a permission=,
 * account= or socket= value is unusable (see invariant 2); *args is filled
 * in either case so the caller can still honour debug and quiet. */
int callrole_pam_args_parse(callrole_pam_args *args, int argc, const char *const *argv,
                            callrole_pam_log_t log, void *userdata);
