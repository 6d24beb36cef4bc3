/*
 * args.c: parse pam_callrole.so's module arguments (see args.h and
 * pam_callrole(8)).
 *
 * Arguments follow Linux-PAM's habits: "key=value" options are matched by
 * prefix, flags by the whole word, unknown words are reported and ignored so
 * that a newer configuration does not lock everybody out of an older
 * module.  The one exception to "report and carry on" is a value that
 * decides who gets in (permission, account, socket): see args.h,
 * invariant 2.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "args.h"
#include "macro.h"

/* If s starts with prefix, the rest of s; else NULL. */
static const char *skip_prefix(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* Milliseconds, 1..CALLROLE_PAM_TIMEOUT_MAX_MS, plain decimal digits only:
 * strtol alone would accept " 12", "+12" and "-0". */
static int parse_timeout(const char *s, unsigned *ret) {
        char *end = NULL;
        long v;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0)
                return -errno;
        if (end == s || *end != '\0')
                return -EINVAL;
        if (v < 1 || v > (long) CALLROLE_PAM_TIMEOUT_MAX_MS)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* An absolute path that fits in sockaddr_un (with its NUL).  A relative
 * path would depend on the working directory of whatever program loaded
 * the module. */
static int socket_path_is_valid(const char *s) {
        if (s[0] != '/')
                return -EINVAL;
        if (strnlen(s, sizeof(((struct sockaddr_un *) NULL)->sun_path)) >=
            sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return -ENAMETOOLONG;
        return 0;
}

int callrole_pam_args_parse(callrole_pam_args *args, int argc, const char *const *argv,
                            callrole_pam_log_t log, void *userdata) {
        int ret = 0;

        if (!args || argc < 0 || (argc > 0 && !argv))
                return -EINVAL;

        *args = (callrole_pam_args) {
                .permission = CALLROLE_PAM_PERMISSION_DEFAULT,
                .timeout_ms = CALLROLE_PAM_TIMEOUT_DEFAULT_MS,
        };

        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *v;

                if (!a)
                        continue;

                if ((v = skip_prefix(a, "permission="))) {
                        if (name_is_valid(v) < 0) {
                                if (log)
                                        log(userdata, "invalid permission name in \"%s\"; "
                                            "refusing every request until it is fixed", a);
                                ret = -EINVAL;
                        } else
                                args->permission = v;
                } else if ((v = skip_prefix(a, "account="))) {
                        if (name_is_valid(v) < 0) {
                                if (log)
                                        log(userdata, "invalid account name in \"%s\"; "
                                            "refusing every request until it is fixed", a);
                                ret = -EINVAL;
                        } else
                                args->account = v;
                } else if ((v = skip_prefix(a, "socket="))) {
                        if (socket_path_is_valid(v) < 0) {
                                if (log)
                                        log(userdata, "invalid socket path in \"%s\" (must be absolute and "
                                            "shorter than %zu bytes); refusing every request until it is fixed",
                                            a, sizeof(((struct sockaddr_un *) NULL)->sun_path));
                                ret = -EINVAL;
                        } else
                                args->socket = v;
                } else if ((v = skip_prefix(a, "timeout="))) {
                        unsigned t = 0;

                        if (parse_timeout(v, &t) < 0) {
                                /* Keep whatever was in force before this argument: the
                                 * default, or an earlier valid timeout=. */
                                if (log)
                                        log(userdata, "bad value in \"%s\" (want milliseconds, 1..%u); "
                                            "using %u ms", a, CALLROLE_PAM_TIMEOUT_MAX_MS, args->timeout_ms);
                        } else
                                args->timeout_ms = t;
                } else if (strcmp(a, "ignore_unknown_user") == 0)
                        args->ignore_unknown_user = true;
                else if (strcmp(a, "ignore_unavailable") == 0)
                        args->ignore_unavailable = true;
                else if (strcmp(a, "debug") == 0)
                        args->debug = true;
                else if (strcmp(a, "quiet") == 0)
                        args->quiet = true;
                else if (log)
                        log(userdata, "unknown option: %s", a);
        }

        return ret;
}
