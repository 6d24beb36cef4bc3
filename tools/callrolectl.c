/*
 * callrolectl.c: the administrators' command line of callrole.
 *
 *   callrolectl [GLOBAL OPTIONS] COMMAND [VERB] [ARGS] [OPTIONS]
 *
 * Every command is one row of the `commands` table: a group ("user"), an
 * optional verb ("add"), the function that runs it, and its synopsis for
 * --help.  A command first parses all of its arguments and refuses bad ones
 * with exit status 2 before it opens any connection, then asks callroled
 * through the public client API (callrole.h) only, never the wire, and
 * prints a table, a "key: value" block, JSON (--json) or the effect lines
 * of a change.
 *
 * Exit status: 0 ok (check: allowed), 1 check denied, 2 usage error,
 * 3 callroled unreachable, 4 any other error.
 *
 * Global options are accepted before the command (getopt_long with "+", so
 * the first word that is not an option ends them) and, for convenience,
 * among the command's own options too: every command parses its options
 * merged with the global ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "callrole.h"
#include "ctl-csv.h"
#include "ctl-output.h"
#include "macro.h"

#ifndef CALLROLE_VERSION
#define CALLROLE_VERSION "unknown"
#endif

enum {
        EXIT_OK = 0,
        EXIT_DENIED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
        EXIT_ERROR = 4,
};

/* Limits from docs/protocol.md that the command line checks itself, so a
 * mistake is a usage error (exit 2) and not a refusal from the daemon. */
#define CTL_ATTRS_MAX 16u          /* attributes in one check */
#define CTL_IMPORT_BATCH 200u      /* users per import request */
/* Bytes of the values of one import request: a request payload is at most
 * 256 KiB, and the rest covers the prefix and the field headers. */
#define CTL_IMPORT_BYTES (200u * 1024u)
_Static_assert(_CSV_COLUMN_MAX * (2u + CSV_FIELD_MAX) <= CTL_IMPORT_BYTES, "one import row fits a request");
#define CTL_PAGE 500u              /* records per user.list / audit page */
#define CTL_TIMEOUT_MAX_MS (24u * 3600u * 1000u)
/* How an unlimited number of seats is spelt in account.add/account.set. */
#define CTL_SEATS_UNLIMITED "unlimited"

/* What next_option() returns besides a command's own option. */
enum {
        OPT_END = -1,    /* no more options */
        OPT_FAIL = -2,   /* usage error, already reported */
        OPT_DONE = -3,   /* --help or --version printed: exit 0 */
};

enum {
        ARG_SOCKET = 0x100,
        ARG_JSON,
        ARG_DRY_RUN,
        ARG_AS,
        ARG_TIMEOUT,
        ARG_VERSION,

        ARG_ACCOUNT = 0x200,
        ARG_ACG,
        ARG_ATTR,
        ARG_DESCRIPTION,
        ARG_DISABLE,
        ARG_DISABLED,
        ARG_DISPLAY_NAME,
        ARG_ENABLE,
        ARG_GRANT,
        ARG_GROUPS,
        ARG_HIDE,
        ARG_HTML,
        ARG_IF,
        ARG_IVRS,
        ARG_ONLY,
        ARG_PARENT,
        ARG_PLAN,
        ARG_RANK,
        ARG_REQUIRES,
        ARG_ROLE,
        ARG_SEATS,
        ARG_SINCE,
        ARG_TITLE,
        ARG_UNHIDE,
        ARG_NOTIFY,
        ARG_NOTIFICATION,
        ARG_AGENCY_ONLY,
        ARG_PROFILE,
};

static const struct option global_options[] = {
        { "socket", required_argument, NULL, ARG_SOCKET },
        { "json", no_argument, NULL, ARG_JSON },
        { "dry-run", no_argument, NULL, ARG_DRY_RUN },
        { "as", required_argument, NULL, ARG_AS },
        { "timeout", required_argument, NULL, ARG_TIMEOUT },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        {}
};

typedef struct Ctl {
        const char *socket;        /* --socket; NULL: $CALLROLE_SOCKET or the default */
        const char *as_user;       /* --as */
        uint64_t timeout_usec;     /* --timeout; 0: the library's default */
        bool json, dry_run;
        callrole *c;               /* opened by ctl_open(), after all arguments are checked */
        struct option *merged;     /* a command's options plus global_options */
        const struct option *merged_for;
} Ctl;

typedef struct Command Command;
struct Command {
        const char *group, *verb;  /* verb NULL: the group alone is the command */
        int (*run)(Ctl *ctl, const Command *cmd, int argc, char **argv);
        const char *synopsis;      /* what follows the command words */
        const char *summary;
};

/* ---- messages ---------------------------------------------------------- */

static void command_name(const Command *cmd, FILE *f) {
        fputs("callrolectl", f);
        if (cmd) {
                fprintf(f, " %s", cmd->group);
                if (cmd->verb)
                        fprintf(f, " %s", cmd->verb);
        }
}

_printf_(2, 3) static int usage_error(const Command *cmd, const char *fmt, ...) {
        va_list ap;

        fputs("callrolectl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nsee '", stderr);
        command_name(cmd, stderr);
        fputs(" --help'\n", stderr);
        return EXIT_USAGE;
}

_printf_(1, 2) static int errorf(const char *fmt, ...) {
        va_list ap;

        fputs("callrolectl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_ERROR;
}

/* Transport failures.  The library reports a missing socket file as
 * -ECONNREFUSED (so that -ENOENT always means the daemon's "no such user,
 * role, ..."), which is why -ENOENT is not in this list. */
static bool error_is_unreachable(int r) {
        switch (-r) {
        case ECONNREFUSED:
        case ETIMEDOUT:
        case ECONNRESET:
        case ECONNABORTED:
        case EPIPE:
        case ENOTCONN:
        case EACCES:
                return true;
        default:
                return false;
        }
}

/* Reports a failed call: the daemon's (or the library's) message when
 * there is one, else the library's text for the errno.  Returns the exit
 * status. */
static int call_failed(Ctl *ctl, int r) {
        const char *msg = callrole_last_error(ctl->c);
        _cleanup_free_ char *clean = text_sanitize(msg ? msg : callrole_strerror(r));

        fprintf(stderr, "callrolectl: %s", clean ? clean : callrole_strerror(r));
        if (r == -ENOTUNIQ && (!msg || !strstr(msg, "--account")))
                fputs("; name the account with --account", stderr);
        fputc('\n', stderr);
        return error_is_unreachable(r) ? EXIT_UNREACHABLE : EXIT_ERROR;
}

static int oom(void) {
        return errorf("out of memory");
}

/* ---- help -------------------------------------------------------------- */

static void command_usage(const Command *cmd, FILE *f) {
        fputs("usage: ", f);
        command_name(cmd, f);
        fprintf(f, "%s%s\n%s\n", isempty(cmd->synopsis) ? "" : " ", cmd->synopsis, cmd->summary);
}

static void help(FILE *f);

/* ---- argument checks --------------------------------------------------- */

/* strtoll with every check: the whole string, no blanks, no overflow,
 * within [min, max].  -EINVAL or -ERANGE. */
static int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end = NULL;
        long long v;

        if (isempty(s) || isspace((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* "a,b , c" as a list, blanks around entries removed; empty entries are
 * refused.  "" is the empty list.  names: check each with name_is_valid(). */
static int split_list(const Command *cmd, const char *option, const char *s, bool names, char ***list) {
        _cleanup_free_ char *copy = strdup(s);
        char *item, *save = NULL;

        if (!copy)
                return oom();
        if (strspn(copy, " \t") == strlen(copy))
                return 0;
        /* strtok_r would skip empty entries; they are mistakes, so look. */
        for (const char *p = copy;; p++) {
                const char *start = p;
                p = p + strcspn(p, ",");
                while (start < p && (*start == ' ' || *start == '\t'))
                        start++;
                if (start == p)
                        return usage_error(cmd, "%s '%s' has an empty entry; write it as a,b,c", option, s);
                if (!*p)
                        break;
        }
        for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                size_t n = strlen(item);
                while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
                        item[--n] = '\0';
                while (*item == ' ' || *item == '\t')
                        item++;
                if (names && name_is_valid(item) < 0)
                        return usage_error(cmd, "%s: '%s' is not a valid name (printable ASCII without blanks, "
                                           "quotes, '/', '@', '+', ',' or '='; at most 64 bytes)",
                                           option, item);
                if (strv_extend(list, item) < 0)
                        return oom();
        }
        return 0;
}

/* --notify NAME[=on|off]: the name must be valid and the switch on or off,
 * so that a typo is a usage error and not the daemon's refusal. */
static int check_notify_arg(const Command *cmd, const char *s) {
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *name = strndup(s, eq ? (size_t) (eq - s) : strlen(s));

        if (!name)
                return oom();
        if (name_is_valid(name) < 0)
                return usage_error(cmd, "--notify '%s': '%s' is not a valid notification name", s, name);
        if (eq && !streq_ptr(eq + 1, "on") && !streq_ptr(eq + 1, "off"))
                return usage_error(cmd, "--notify '%s': write NAME, NAME=on or NAME=off", s);
        return 0;
}

static int check_name_arg(const Command *cmd, const char *what, const char *s) {
        if (name_is_valid(s) < 0)
                return usage_error(cmd, "%s '%s' is not a valid name (printable ASCII without blanks, quotes, "
                                   "'/', '@', '+', ',' or '='; at most 64 bytes)",
                                   what, s);
        return 0;
}

/* --attr KEY=VALUE, for checks and accounts. */
typedef struct Attrs {
        char **keys, **values;    /* strv, parallel */
        size_t n;
} Attrs;

static void attrs_done(Attrs *a) {
        strv_free(a->keys);
        strv_free(a->values);
        *a = (Attrs) {};
}

static int attrs_add(const Command *cmd, Attrs *a, const char *arg, bool check_keys) {
        static const char *const known[] = { "direction", "assignee", "group", "ivr", "acg" };
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *key = NULL;
        bool ok = !check_keys;

        if (!eq || eq == arg)
                return usage_error(cmd, "--attr '%s' must be KEY=VALUE, e.g. --attr direction=inbound", arg);
        key = strndup(arg, (size_t) (eq - arg));
        if (!key)
                return oom();
        for (size_t i = 0; i < ELEMENTSOF(known) && !ok; i++)
                ok = streq_ptr(key, known[i]);
        if (!ok)
                return usage_error(cmd, "--attr: unknown attribute '%s'; the attributes are direction, assignee, "
                                   "group, ivr and acg",
                                   key);
        if (check_keys && a->n >= CTL_ATTRS_MAX)
                return usage_error(cmd, "too many --attr: a check takes at most %u", CTL_ATTRS_MAX);
        if (strv_extend(&a->keys, key) < 0 || strv_extend(&a->values, eq + 1) < 0)
                return oom();
        a->n++;
        return 0;
}

/* ---- time -------------------------------------------------------------- */

static bool take_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS][Z|(+|-)HH[:]MM]].  Without a zone it is local
 * time, like date(1); a date alone is local midnight. */
static int parse_iso8601(const char *s, int64_t *ret) {
        const char *p = s;
        int year, mon, day, hour = 0, min = 0, sec = 0, off = 0;
        bool zone = false;
        struct tm tm = {};
        time_t t;

        if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) || *p++ != '-' ||
            !take_digits(&p, 2, &day))
                return -EINVAL;
        if (*p == 'T' || *p == ' ') {
                p++;
                if (!take_digits(&p, 2, &hour) || *p++ != ':' || !take_digits(&p, 2, &min))
                        return -EINVAL;
                if (*p == ':') {
                        p++;
                        if (!take_digits(&p, 2, &sec))
                                return -EINVAL;
                }
                if (*p == 'Z' || *p == 'z') {
                        zone = true;
                        p++;
                } else if (*p == '+' || *p == '-') {
                        int sign = *p++ == '-' ? -1 : 1, oh, om;
                        if (!take_digits(&p, 2, &oh))
                                return -EINVAL;
                        if (*p == ':')
                                p++;
                        if (!take_digits(&p, 2, &om) || oh > 23 || om > 59)
                                return -EINVAL;
                        zone = true;
                        off = sign * (oh * 3600 + om * 60);
                }
        }
        if (*p != '\0' || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 ||
            year < 1970)
                return -EINVAL;

        tm = (struct tm) { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                           .tm_hour = hour, .tm_min = min, .tm_sec = sec, .tm_isdst = -1 };
        t = zone ? timegm(&tm) : mktime(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        /* Both normalise out-of-range dates (February 30th becomes March
         * 2nd); such a date is a typing mistake, not a request. */
        if (tm.tm_mday != day || tm.tm_mon != mon - 1 || tm.tm_year != year - 1900)
                return -EINVAL;
        t -= off;
        *ret = t < 0 ? 0 : (int64_t) t;
        return 0;
}

/* --since T: unix seconds, an ISO 8601 date or time, or an age ("90m",
 * "1h", "2d", "1w") counted back from now. */
static int parse_since(const char *s, int64_t now, int64_t *ret) {
        size_t n = strlen(s), digits = strspn(s, "0123456789");

        if (n == 0)
                return -EINVAL;
        if (digits == n)
                return parse_int64(s, 0, INT64_MAX, ret);
        if (digits > 0 && digits == n - 1 && strchr("smhdw", s[n - 1])) {
                static const struct {
                        char unit;
                        int64_t seconds;
                } units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
                _cleanup_free_ char *num = strndup(s, digits);
                int64_t v, mult = 1;
                int r;

                if (!num)
                        return -ENOMEM;
                r = parse_int64(num, 0, INT64_MAX, &v);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (units[i].unit == s[n - 1])
                                mult = units[i].seconds;
                /* Further back than the epoch is simply "everything". */
                *ret = v > now / mult ? 0 : now - v * mult;
                return 0;
        }
        return parse_iso8601(s, ret);
}

/* ---- options ----------------------------------------------------------- */

/* Handles a global option wherever it appears.  Returns 0 or OPT_FAIL /
 * OPT_DONE. */
static int global_option(Ctl *ctl, const Command *cmd, int c, const char *arg) {
        int64_t ms;

        switch (c) {
        case ARG_SOCKET:
                if (isempty(arg) || strlen(arg) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
                        usage_error(cmd, "--socket '%s': a socket path is 1 to %zu bytes", arg,
                                    sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1);
                        return OPT_FAIL;
                }
                ctl->socket = arg;
                return 0;
        case ARG_JSON:
                ctl->json = true;
                return 0;
        case ARG_DRY_RUN:
                ctl->dry_run = true;
                return 0;
        case ARG_AS:
                if (check_name_arg(cmd, "--as user", arg) != 0)
                        return OPT_FAIL;
                ctl->as_user = arg;
                return 0;
        case ARG_TIMEOUT:
                if (parse_int64(arg, 1, CTL_TIMEOUT_MAX_MS, &ms) < 0) {
                        usage_error(cmd, "--timeout '%s' is not a number of milliseconds from 1 to %u", arg,
                                    CTL_TIMEOUT_MAX_MS);
                        return OPT_FAIL;
                }
                ctl->timeout_usec = (uint64_t) ms * 1000u;
                return 0;
        case 'h':
                if (cmd)
                        command_usage(cmd, stdout);
                else
                        help(stdout);
                return OPT_DONE;
        case ARG_VERSION:
                printf("callrolectl %s\n", CALLROLE_VERSION);
                return OPT_DONE;
        default:
                return 1;   /* not a global option */
        }
}

static int bad_option(const Command *cmd, int c, char **argv) {
        const char *arg = argv[optind - 1];

        if (c == ':')
                usage_error(cmd, "option '%s' needs a value", arg);
        else if (optopt > 0 && optopt < 0x100 && !(arg[0] == '-' && arg[1] == '-'))
                usage_error(cmd, "unknown option '-%c'", optopt);
        else
                usage_error(cmd, "unknown option '%s'", arg);
        return OPT_FAIL;
}

/* The next option of a command (its own, merged with the global ones, which
 * are handled here).  Arguments that are not options are moved to the end
 * (GNU getopt's permutation), so they may come before or after options. */
static int next_option(Ctl *ctl, const Command *cmd, int argc, char **argv, const struct option *opts) {
        if (ctl->merged_for != opts) {
                size_t n = 0, g = ELEMENTSOF(global_options);
                struct option *m;

                while (opts[n].name)
                        n++;
                m = calloc(n + g, sizeof(struct option));
                if (!m) {
                        oom();
                        return OPT_FAIL;
                }
                memcpy(m, opts, n * sizeof(struct option));
                memcpy(m + n, global_options, g * sizeof(struct option));   /* ends with the {} of global_options */
                free(ctl->merged);
                ctl->merged = m;
                ctl->merged_for = opts;
        }

        for (;;) {
                int c = getopt_long(argc, argv, ":h", ctl->merged, NULL), r;

                if (c == -1)
                        return OPT_END;
                if (c == '?' || c == ':')
                        return bad_option(cmd, c, argv);
                r = global_option(ctl, cmd, c, optarg);
                if (r <= 0)
                        return r == 0 ? next_option(ctl, cmd, argc, argv, opts) : r;
                return c;
        }
}

/* Turns next_option()'s end code into an exit status. */
static int options_end(int c) {
        return c == OPT_DONE ? EXIT_OK : EXIT_USAGE;
}

/* Checks the count of positional arguments left after the options. */
static int positional(const Command *cmd, int argc, char **argv, int min, int max, const char *what) {
        int n = argc - optind;

        if (n < min)
                return usage_error(cmd, "missing %s", what);
        if (max >= 0 && n > max)
                return usage_error(cmd, "unexpected argument '%s'", argv[optind + max]);
        return 0;
}

/* ---- talking to callroled --------------------------------------------- */

/* Opens the handle with the global options applied.  Nothing connects yet:
 * the library connects on the first call.  Returns 0, or an exit status
 * after reporting the failure (ctl->c is then NULL). */
static int ctl_open(Ctl *ctl) {
        int r;

        if (ctl->c)
                return 0;
        r = callrole_new(&ctl->c);
        if (r >= 0 && ctl->socket)
                r = callrole_set_socket(ctl->c, ctl->socket);
        if (r >= 0)
                r = callrole_set_timeout(ctl->c, ctl->timeout_usec);
        if (r >= 0 && ctl->as_user)
                r = callrole_set_as_user(ctl->c, ctl->as_user);
        if (r >= 0)
                r = callrole_set_dry_run(ctl->c, ctl->dry_run);
        if (r < 0) {
                ctl->c = callrole_free(ctl->c);
                return errorf("cannot set up libcallrole: %s", callrole_strerror(r));
        }
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_record *, callrole_record_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_reply *, callrole_reply_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_decision *, callrole_decision_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static void record_list_donep(RecordList *l) {
        record_list_done(l);
}
#define _cleanup_records_ _cleanup_(record_list_donep)

/* Request parameters.  A NULL value is skipped (an option not given). */
static int param(callrole_record *p, const char *key, const char *value) {
        if (!value)
                return 0;
        return callrole_record_add(p, key, value);
}

/* A list option.  set: whether it was given at all; an empty list given
 * ("--groups ''") is sent as an empty field, which clears it. */
static int param_list(callrole_record *p, const char *key, char *const *values, bool set) {
        int r;

        if (!set)
                return 0;
        if (strv_length(values) == 0)
                return callrole_record_add(p, key, NULL);
        for (char *const *v = values; *v; v++) {
                r = callrole_record_add(p, key, *v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int params_new(callrole_record **ret) {
        return callrole_record_new(ret) < 0 ? -ENOMEM : 0;
}

/* A parameter that does not fit the record (too long): a usage error in
 * all but name. */
static int params_failed(const Command *cmd, int r) {
        if (r == -ENOMEM)
                return oom();
        return usage_error(cmd, "an argument is too long or there are too many values (%s)", callrole_strerror(r));
}

/* Calls method and appends all records of the reply to *l.  Returns 0,
 * or an exit status after reporting the failure. */
static int call(Ctl *ctl, const char *method, const callrole_record *params, RecordList *l) {
        callrole_reply *rep = NULL;
        int r;

        r = ctl_open(ctl);
        if (r != 0)
                return r;
        r = callrole_call(ctl->c, method, params, &rep);
        if (r < 0)
                return call_failed(ctl, r);
        if (record_list_take(l, rep, SIZE_MAX) < 0)
                return oom();
        return 0;
}

static int print_json(json_object *o) {
        if (!o)
                return oom();
        if (json_print(o, stdout) < 0)
                return errorf("cannot write to standard output: %m");
        return EXIT_OK;
}

/* A change: send it, print what it did. */
static int run_change(Ctl *ctl, const char *method, const callrole_record *params) {
        _cleanup_records_ RecordList l = {};
        int r, dry;

        r = call(ctl, method, params, &l);
        if (r != 0)
                return r;
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                r = print_json(o);
                if (r != EXIT_OK)
                        return r;
                if (ctl->dry_run)
                        fputs("dry run: nothing was changed\n", stderr);
                return EXIT_OK;
        }
        if (l.n == 0)
                puts("nothing changed");
        dry = effects_print(&l, stdout);
        if (dry < 0)
                return oom();
        if (dry || ctl->dry_run)
                puts("dry run: nothing was changed");
        return EXIT_OK;
}

/* ---- lists ------------------------------------------------------------- */

typedef struct Column {
        const char *key, *header;
        bool count;   /* show how many values, not the values */
} Column;

static int print_records(Ctl *ctl, const RecordList *l, const Column *cols, size_t n_cols, const char *noun) {
        _cleanup_(table_freep) Table *t = NULL;
        const char *headers[16];

        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(l, false);
                return print_json(o);
        }
        if (l->n == 0) {
                printf("no %s\n", noun);
                return EXIT_OK;
        }
        if (n_cols > ELEMENTSOF(headers))
                return errorf("internal error: too many columns");
        for (size_t i = 0; i < n_cols; i++)
                headers[i] = cols[i].header;
        t = table_new(headers, n_cols);
        if (!t)
                return oom();
        for (size_t i = 0; i < l->n; i++)
                for (size_t c = 0; c < n_cols; c++) {
                        _cleanup_free_ char *v = NULL;
                        if (cols[c].count) {
                                if (asprintf(&v, "%zu", record_count(l->items[i], cols[c].key)) < 0)
                                        v = NULL;
                        } else
                                v = record_join(l->items[i], cols[c].key, ",");
                        if (!v || table_add(t, v) < 0)
                                return oom();
                }
        if (table_print(t, stdout) < 0)
                return errorf("cannot write to standard output: %m");
        return EXIT_OK;
}

/* ---- commands: status, profiles, accounts, plans, permissions ---------- */

static int cmd_status(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = { {} };
        _cleanup_records_ RecordList l = {};
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                ;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;

        r = call(ctl, "status", NULL, &l);
        if (r != 0)
                return r;
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                return print_json(o);
        }
        for (size_t i = 0; i < l.n; i++)
                if (record_print_block(l.items[i], stdout) < 0)
                        return oom();
        return EXIT_OK;
}

/* Commands that take no options and no arguments and print a table. */
static int simple_list(Ctl *ctl, const Command *cmd, int argc, char **argv, const char *method, const Column *cols,
                       size_t n_cols, const char *noun) {
        static const struct option opts[] = { {} };
        _cleanup_records_ RecordList l = {};
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                ;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;
        r = call(ctl, method, NULL, &l);
        if (r != 0)
                return r;
        return print_records(ctl, &l, cols, n_cols, noun);
}

static int cmd_profile_list(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const Column cols[] = {
                { "name", "NAME" },
                { "title", "TITLE" },
                { "roles", "ROLES" },
        };
        return simple_list(ctl, cmd, argc, argv, "profile.list", cols, ELEMENTSOF(cols), "profiles");
}

static int cmd_permission_list(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const Column cols[] = {
                { "name", "NAME" },
                { "builtin", "BUILTIN" },
                { "description", "DESCRIPTION" },
        };
        return simple_list(ctl, cmd, argc, argv, "permission.list", cols, ELEMENTSOF(cols), "permissions");
}

static int cmd_account_list(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const Column cols[] = {
                { "name", "NAME" },
                { "parent", "PARENT" },
                { "plan", "PLAN" },
                { "seats", "SEATS" },
                { "users", "USERS" },
                { "agency", "AGENCY" },
                { "hidden", "HIDDEN" },
                { "attrs", "ATTRS" },
                { "notifications", "NOTIFICATIONS" },
        };
        return simple_list(ctl, cmd, argc, argv, "account.list", cols, ELEMENTSOF(cols), "accounts");
}

static int cmd_profile_load(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                {}
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        const char *account = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                if (c == ARG_ACCOUNT)
                        account = optarg;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the profile NAME (see 'callrolectl profile list')")) != 0)
                return r;
        if ((r = check_name_arg(cmd, "profile", argv[optind])) != 0 ||
            (account && (r = check_name_arg(cmd, "--account", account)) != 0))
                return r;

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0 || (r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "profile.load", p);
}

/* --seats N|unlimited */
static int parse_seats(const Command *cmd, const char *arg, const char **ret) {
        int64_t v;

        if (streq_ptr(arg, "unlimited")) {
                *ret = CTL_SEATS_UNLIMITED;
                return 0;
        }
        if (parse_int64(arg, 0, INT32_MAX, &v) < 0)
                return usage_error(cmd, "--seats '%s' is not a number of seats (0 or more) or 'unlimited'", arg);
        *ret = arg;
        return 0;
}

static int cmd_account_add_or_set(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "parent", required_argument, NULL, ARG_PARENT },
                { "plan", required_argument, NULL, ARG_PLAN },
                { "seats", required_argument, NULL, ARG_SEATS },
                { "attr", required_argument, NULL, ARG_ATTR },
                { "hide", required_argument, NULL, ARG_HIDE },
                { "unhide", required_argument, NULL, ARG_UNHIDE },
                { "notification", required_argument, NULL, ARG_NOTIFICATION },
                {}
        };
        bool set = streq_ptr(cmd->verb, "set");
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_strv_free_ char **hide = NULL, **unhide = NULL, **notifications = NULL;
        _cleanup_(attrs_done) Attrs attrs = {};
        const char *parent = NULL, *plan = NULL, *seats = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0) {
                switch (c) {
                case ARG_PARENT:
                        if (set)
                                return usage_error(cmd, "--parent is only for 'account add'; an account's agency "
                                                   "cannot be changed");
                        parent = optarg;
                        break;
                case ARG_PLAN:
                        plan = optarg;
                        break;
                case ARG_SEATS:
                        if ((r = parse_seats(cmd, optarg, &seats)) != 0)
                                return r;
                        break;
                case ARG_ATTR:
                        if ((r = attrs_add(cmd, &attrs, optarg, false)) != 0)
                                return r;
                        break;
                case ARG_HIDE:
                case ARG_UNHIDE:
                        if (!set)
                                return usage_error(cmd, "--hide and --unhide are for 'account set'");
                        if (isempty(optarg))
                                return usage_error(cmd, "--%s needs a permission or pattern", c == ARG_HIDE ? "hide" : "unhide");
                        if (strv_extend(c == ARG_HIDE ? &hide : &unhide, optarg) < 0)
                                return oom();
                        break;
                case ARG_NOTIFICATION: {
                        const char *eq = strchr(optarg, '=');
                        _cleanup_free_ char *name = NULL;
                        if (!set)
                                return usage_error(cmd, "--notification is for 'account set'");
                        if (!eq)
                                return usage_error(cmd, "--notification '%s' must be NAME=PERMISSION (or NAME= to "
                                                   "remove it)", optarg);
                        name = strndup(optarg, (size_t) (eq - optarg));
                        if (!name)
                                return oom();
                        if (name_is_valid(name) < 0 || (eq[1] && name_is_valid(eq + 1) < 0))
                                return usage_error(cmd, "--notification '%s': NAME and PERMISSION must be valid "
                                                   "names", optarg);
                        if (strv_extend(&notifications, optarg) < 0)
                                return oom();
                        break;
                }
                }
        }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the account NAME")) != 0)
                return r;
        if ((r = check_name_arg(cmd, "account", argv[optind])) != 0 ||
            (parent && (r = check_name_arg(cmd, "--parent", parent)) != 0) ||
            (plan && (r = check_name_arg(cmd, "--plan", plan)) != 0))
                return r;
        if (set && !plan && !seats && !hide && !unhide && attrs.n == 0 && !notifications)
                return usage_error(cmd, "nothing to change: give --plan, --seats, --hide, --unhide, --attr or "
                                   "--notification");

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0 || (r = param(p, "parent", parent)) < 0 ||
            (r = param(p, "plan", plan)) < 0 || (r = param(p, "seats", seats)) < 0 ||
            (r = param_list(p, "hide", hide, hide != NULL)) < 0 ||
            (r = param_list(p, "unhide", unhide, unhide != NULL)) < 0 ||
            (r = param_list(p, "notifications", notifications, notifications != NULL)) < 0)
                return params_failed(cmd, r);
        for (size_t i = 0; i < attrs.n; i++) {
                _cleanup_free_ char *kv = NULL;
                if (asprintf(&kv, "%s=%s", attrs.keys[i], attrs.values[i]) < 0)
                        return oom();
                if ((r = callrole_record_add(p, "attrs", kv)) < 0)
                        return params_failed(cmd, r);
        }
        return run_change(ctl, set ? "account.set" : "account.add", p);
}

static int cmd_plan_set(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = { {} };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                ;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 2, -1, "the plan NAME and at least one FEATURE (a permission or a "
                                                   "pattern such as 'calls.*')")) != 0)
                return r;
        if ((r = check_name_arg(cmd, "plan", argv[optind])) != 0)
                return r;

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0)
                return params_failed(cmd, r);
        for (int i = optind + 1; i < argc; i++) {
                if (isempty(argv[i]))
                        return usage_error(cmd, "an empty FEATURE");
                if ((r = callrole_record_add(p, "features", argv[i])) < 0)
                        return params_failed(cmd, r);
        }
        return run_change(ctl, "plan.set", p);
}

static int cmd_permission_add(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "description", required_argument, NULL, ARG_DESCRIPTION },
                {}
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        const char *description = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                if (c == ARG_DESCRIPTION)
                        description = optarg;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the permission NAME (area.action)")) != 0)
                return r;
        if ((r = check_name_arg(cmd, "permission", argv[optind])) != 0)
                return r;

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0 || (r = param(p, "description", description)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "permission.add", p);
}

/* ---- commands: roles and rules ----------------------------------------- */

/* Commands whose only option is --account. */
static int parse_account_only(Ctl *ctl, const Command *cmd, int argc, char **argv, const char **ret_account) {
        static const struct option opts[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                {}
        };
        int c;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                if (c == ARG_ACCOUNT) {
                        if (check_name_arg(cmd, "--account", optarg) != 0)
                                return EXIT_USAGE;
                        *ret_account = optarg;
                }
        if (c != OPT_END)
                return options_end(c) == EXIT_OK ? OPT_DONE : EXIT_USAGE;
        return 0;
}

/* parse_account_only()'s result as an exit status. */
static int account_only_exit(int r) {
        return r == OPT_DONE ? EXIT_OK : r;
}

/* --account A or --profile P (the roles a profile file defines, loaded or
 * not: read by callroled from its profile folder). */
static int parse_account_or_profile(Ctl *ctl, const Command *cmd, int argc, char **argv, const struct option *opts,
                                    const char **ret_account, const char **ret_profile, const char **ret_html) {
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                switch (c) {
                case ARG_ACCOUNT:
                        if ((r = check_name_arg(cmd, "--account", optarg)) != 0)
                                return r;
                        *ret_account = optarg;
                        break;
                case ARG_PROFILE:
                        if ((r = check_name_arg(cmd, "--profile", optarg)) != 0)
                                return r;
                        *ret_profile = optarg;
                        break;
                case ARG_HTML:
                        if (isempty(optarg))
                                return usage_error(cmd, "--html needs a FILE (or - for standard output)");
                        *ret_html = optarg;
                        break;
                }
        if (c != OPT_END)
                return options_end(c) == EXIT_OK ? OPT_DONE : EXIT_USAGE;
        if (*ret_account && *ret_profile)
                return usage_error(cmd, "give --account or --profile, not both: a profile's roles belong to no "
                                   "account until it is loaded");
        return 0;
}

static int cmd_role_list(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "profile", required_argument, NULL, ARG_PROFILE },
                {}
        };
        static const Column cols[] = {
                { "account", "ACCOUNT" },
                { "role", "ROLE" },
                { "title", "TITLE" },
                { "rank", "RANK" },
                { "grants", "GRANTS", .count = true },
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_records_ RecordList l = {};
        const char *account = NULL, *profile = NULL, *html = NULL;
        int r;

        if ((r = parse_account_or_profile(ctl, cmd, argc, argv, opts, &account, &profile, &html)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "account", account)) < 0 || (r = param(p, "profile", profile)) < 0)
                return params_failed(cmd, r);
        r = call(ctl, "role.list", p, &l);
        if (r != 0)
                return r;
        return print_records(ctl, &l, cols, ELEMENTSOF(cols), "roles");
}

static int cmd_role_show(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_records_ RecordList l = {};
        const char *account = NULL;
        int r;

        if ((r = parse_account_only(ctl, cmd, argc, argv, &account)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 1, 1, "the ROLE id")) != 0 ||
            (r = check_name_arg(cmd, "role", argv[optind])) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "role", argv[optind])) < 0 || (r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        r = call(ctl, "role.get", p, &l);
        if (r != 0)
                return r;
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                return print_json(o);
        }
        for (size_t i = 0; i < l.n; i++) {
                if (i > 0)
                        putchar('\n');
                if (record_print_block(l.items[i], stdout) < 0)
                        return oom();
        }
        return EXIT_OK;
}

static int cmd_role_add(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "rank", required_argument, NULL, ARG_RANK },
                { "grant", required_argument, NULL, ARG_GRANT },
                { "title", required_argument, NULL, ARG_TITLE },
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "agency-only", no_argument, NULL, ARG_AGENCY_ONLY },
                {}
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_strv_free_ char **grants = NULL;
        const char *rank = NULL, *title = NULL, *account = NULL;
        bool agency_only = false;
        int64_t v;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0) {
                switch (c) {
                case ARG_RANK:
                        r = parse_int64(optarg, INT32_MIN, INT32_MAX, &v);
                        if (r == -ERANGE)
                                return usage_error(cmd, "--rank '%s' is out of range (%d to %d)", optarg, INT32_MIN,
                                                   INT32_MAX);
                        if (r < 0)
                                return usage_error(cmd, "--rank '%s' is not an integer", optarg);
                        rank = optarg;
                        break;
                case ARG_GRANT:
                        if (isempty(optarg) || optarg[0] == '@' || optarg[0] == '/')
                                return usage_error(cmd, "--grant '%s' must be PERMISSION[@SCOPE[+SCOPE]...][/CONDITION]",
                                                   optarg);
                        if (strv_extend(&grants, optarg) < 0)
                                return oom();
                        break;
                case ARG_TITLE:
                        title = optarg;
                        break;
                case ARG_ACCOUNT:
                        account = optarg;
                        break;
                case ARG_AGENCY_ONLY:
                        agency_only = true;
                        break;
                }
        }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the ROLE id")) != 0 ||
            (r = check_name_arg(cmd, "role", argv[optind])) != 0 ||
            (account && (r = check_name_arg(cmd, "--account", account)) != 0))
                return r;
        if (!rank)
                return usage_error(cmd, "missing --rank N: a role needs a rank (higher outranks lower)");

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "role", argv[optind])) < 0 || (r = param(p, "rank", rank)) < 0 ||
            (r = param(p, "title", title)) < 0 || (r = param(p, "account", account)) < 0 ||
            (r = param(p, "agency-only", agency_only ? "yes" : NULL)) < 0 ||
            (r = param_list(p, "grants", grants, true)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "role.add", p);
}

static int cmd_role_delete(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        const char *account = NULL;
        int r;

        if ((r = parse_account_only(ctl, cmd, argc, argv, &account)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 1, 1, "the ROLE id")) != 0 ||
            (r = check_name_arg(cmd, "role", argv[optind])) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "role", argv[optind])) < 0 || (r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "role.delete", p);
}

static int cmd_rule_add(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "if", required_argument, NULL, ARG_IF },
                { "requires", required_argument, NULL, ARG_REQUIRES },
                { "account", required_argument, NULL, ARG_ACCOUNT },
                {}
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        const char *if_pattern = NULL, *requires = NULL, *account = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                switch (c) {
                case ARG_IF:
                        if_pattern = optarg;
                        break;
                case ARG_REQUIRES:
                        requires = optarg;
                        break;
                case ARG_ACCOUNT:
                        account = optarg;
                        break;
                }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0 ||
            (account && (r = check_name_arg(cmd, "--account", account)) != 0))
                return r;
        if (isempty(if_pattern) || isempty(requires))
                return usage_error(cmd, "a rule needs --if PATTERN and --requires PATTERN, e.g. --if reports.view_tab "
                                   "--requires 'reports.*.view'");
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "if", if_pattern)) < 0 || (r = param(p, "requires", requires)) < 0 ||
            (r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "rule.add", p);
}

/* ---- role matrix ------------------------------------------------------- */

typedef struct MatrixRole {
        const callrole_record *r;
        const char *id, *account, *title;
        int64_t rank;
        char *label;
} MatrixRole;

static int matrix_role_cmp(const void *a, const void *b) {
        const MatrixRole *x = a, *y = b;
        int r;

        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        r = strcmp(x->account, y->account);
        return r != 0 ? r : strcmp(x->id, y->id);
}

/* The grant's scope and condition if it grants perm ("" for a plain
 * grant), else NULL. */
static const char *grant_rest(const char *grant, const char *perm) {
        size_t n = strcspn(grant, "@/");

        if (strlen(perm) != n || strncmp(grant, perm, n) != 0)
                return NULL;
        return grant + n;
}

/* The text of a matrix cell: "✓", or scope abbreviations ("own+in"), a
 * '*' for a condition, alternatives separated by '|'; "" if not granted.
 * NULL on ENOMEM. */
static char *matrix_cell(const MatrixRole *role, const char *perm) {
        static const struct {
                const char *scope, *abbrev;
        } abbrevs[] = {
                { "assigned", "own" }, { "direction=inbound", "in" }, { "direction=outbound", "out" },
                { "groups", "grp" },   { "ivrs", "ivr" },             { "acg", "acg" },
        };
        char *buf = NULL;
        size_t size = 0, i, alternatives = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        if (record_find(role->r, "grants", &i))
                for (size_t j = 0; j < callrole_record_n_values(role->r, i); j++) {
                        const char *rest = grant_rest(callrole_record_value(role->r, i, j), perm);
                        const char *cond;

                        if (!rest)
                                continue;
                        if (alternatives++ > 0)
                                fputc('|', f);
                        cond = strchr(rest, '/');
                        if (rest[0] != '@')
                                fputs("✓", f);
                        else {
                                size_t end = cond ? (size_t) (cond - rest) : strlen(rest);
                                for (size_t k = 1; k < end;) {
                                        size_t len = strcspn(rest + k, "+/");
                                        const char *ab = NULL;
                                        if (len > end - k)
                                                len = end - k;
                                        for (size_t a = 0; a < ELEMENTSOF(abbrevs) && !ab; a++)
                                                if (strlen(abbrevs[a].scope) == len &&
                                                    strncmp(rest + k, abbrevs[a].scope, len) == 0)
                                                        ab = abbrevs[a].abbrev;
                                        if (k > 1)
                                                fputc('+', f);
                                        if (ab)
                                                fputs(ab, f);
                                        else
                                                fwrite(rest + k, 1, len, f);
                                        k += len + 1;
                                }
                        }
                        if (cond)
                                fputc('*', f);
                }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static void html_escape(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&#39;", f); break;
                default: fputc(*s, f);
                }
}

#define MATRIX_LEGEND \
        "✓ granted; own: only items assigned to the user; in/out: inbound/outbound only; grp, ivr, acg: only the " \
        "user's groups, IVRs, access-control groups; a|b: either; *: only when a condition holds (see 'role show')"

static int matrix_html(const char *path, MatrixRole *roles, size_t n_roles, char **perms, const char *account) {
        FILE *f = streq_ptr(path, "-") ? stdout : fopen(path, "we");

        if (!f)
                return errorf("cannot create '%s': %m", path);
        fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>callrole role matrix", f);
        if (account) {
                fputs(": ", f);
                html_escape(f, account);
        }
        fputs("</title>\n<style>\n"
              "body { font-family: sans-serif; }\n"
              "table { border-collapse: collapse; }\n"
              "th, td { border: 1px solid #bbb; padding: 2px 8px; text-align: center; }\n"
              "th small { font-weight: normal; color: #555; }\n"
              "td:first-child { text-align: left; font-family: monospace; }\n"
              "</style></head><body>\n<table>\n<thead><tr><th>Permission</th>",
              f);
        for (size_t i = 0; i < n_roles; i++) {
                fputs("<th>", f);
                html_escape(f, isempty(roles[i].title) ? roles[i].id : roles[i].title);
                fputs("<br><small>", f);
                html_escape(f, roles[i].label);
                fprintf(f, " &middot; rank %" PRId64 "</small></th>", roles[i].rank);
        }
        fputs("</tr></thead>\n<tbody>\n", f);
        for (char **p = perms; *p; p++) {
                fputs("<tr><td>", f);
                html_escape(f, *p);
                fputs("</td>", f);
                for (size_t i = 0; i < n_roles; i++) {
                        _cleanup_free_ char *cell = matrix_cell(&roles[i], *p);
                        if (!cell) {
                                if (f != stdout)
                                        fclose(f);
                                return oom();
                        }
                        fputs("<td>", f);
                        html_escape(f, cell);
                        fputs("</td>", f);
                }
                fputs("</tr>\n", f);
        }
        fputs("</tbody>\n</table>\n<p>", f);
        html_escape(f, MATRIX_LEGEND);
        fputs("</p>\n</body></html>\n", f);
        if (f == stdout ? fflush(f) != 0 || ferror(f) : fclose(f) != 0)
                return errorf("cannot write '%s': %m", path);
        return EXIT_OK;
}

static int matrix_json(MatrixRole *roles, size_t n_roles, char **perms) {
        _cleanup_(json_object_putp) json_object *arr = json_object_new_array();

        if (!arr)
                return oom();
        for (char **p = perms; *p; p++) {
                json_object *row = json_object_new_object(), *cells = json_object_new_object();
                if (!row || !cells || json_object_array_add(arr, row) < 0) {
                        json_object_put(row);
                        json_object_put(cells);
                        return oom();
                }
                if (json_object_object_add(row, "permission", json_object_new_string(*p)) < 0 ||
                    json_object_object_add(row, "roles", cells) < 0) {
                        json_object_put(cells);
                        return oom();
                }
                for (size_t i = 0; i < n_roles; i++) {
                        size_t k;
                        json_object *grants = NULL;
                        if (!record_find(roles[i].r, "grants", &k))
                                continue;
                        for (size_t j = 0; j < callrole_record_n_values(roles[i].r, k); j++) {
                                const char *g = callrole_record_value(roles[i].r, k, j);
                                if (!grant_rest(g, *p))
                                        continue;
                                if (!grants) {
                                        grants = json_object_new_array();
                                        if (!grants || json_object_object_add(cells, roles[i].label, grants) < 0) {
                                                json_object_put(grants);
                                                return oom();
                                        }
                                }
                                if (json_object_array_add(grants, json_object_new_string(g)) < 0)
                                        return oom();
                        }
                }
        }
        return print_json(arr);
}

static int cmd_role_matrix(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "profile", required_argument, NULL, ARG_PROFILE },
                { "html", required_argument, NULL, ARG_HTML },
                {}
        };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_records_ RecordList rl = {}, pl = {};
        _cleanup_free_ MatrixRole *roles = NULL;
        _cleanup_strv_free_ char **perms = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ const char **headers = NULL;
        const char *account = NULL, *profile = NULL, *html = NULL;
        bool one_account = true;
        int r, ret = EXIT_OK;

        if ((r = parse_account_or_profile(ctl, cmd, argc, argv, opts, &account, &profile, &html)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;

        /* With --profile, callroled reads the profile's file: the matrix of
         * a product's roles as shipped, whether or not it is loaded. */
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "account", account)) < 0 || (r = param(p, "profile", profile)) < 0)
                return params_failed(cmd, r);
        r = call(ctl, "role.list", p, &rl);
        if (r == 0)
                r = call(ctl, "permission.list", NULL, &pl);
        if (r != 0)
                return r;

        roles = calloc(rl.n ? rl.n : 1, sizeof(MatrixRole));
        if (!roles)
                return oom();
        for (size_t i = 0; i < rl.n; i++) {
                const callrole_record *rec = rl.items[i];
                MatrixRole *m = &roles[i];
                *m = (MatrixRole) {
                        .r = rec,
                        .id = callrole_record_get(rec, "role") ?: "?",
                        .account = callrole_record_get(rec, "account") ?: "",
                        .title = callrole_record_get(rec, "title"),
                };
                if (parse_int64(callrole_record_get(rec, "rank"), INT64_MIN, INT64_MAX, &m->rank) < 0)
                        m->rank = 0;
                if (i > 0 && !streq_ptr(m->account, roles[0].account))
                        one_account = false;
        }
        qsort(roles, rl.n, sizeof(MatrixRole), matrix_role_cmp);
        /* Roles of different accounts may share an id: then say whose. */
        for (size_t i = 0; i < rl.n; i++) {
                if (one_account)
                        roles[i].label = strdup(roles[i].id);
                else if (asprintf(&roles[i].label, "%s/%s", roles[i].account, roles[i].id) < 0)
                        roles[i].label = NULL;
                if (!roles[i].label) {
                        ret = oom();
                        goto finish;
                }
        }

        /* Rows: the catalogue's permissions that some role grants, in the
         * catalogue's order, then any granted permission the catalogue
         * lacks (it should not happen, but must not vanish from view). */
        for (size_t i = 0; i < pl.n; i++) {
                const char *name = callrole_record_get(pl.items[i], "name");
                bool used = false;
                if (!name)
                        continue;
                for (size_t k = 0; k < rl.n && !used; k++) {
                        size_t idx;
                        if (record_find(roles[k].r, "grants", &idx))
                                for (size_t j = 0; j < callrole_record_n_values(roles[k].r, idx) && !used; j++)
                                        used = grant_rest(callrole_record_value(roles[k].r, idx, j), name) != NULL;
                }
                if (used && !strv_contains(perms, name) && strv_extend(&perms, name) < 0) {
                        ret = oom();
                        goto finish;
                }
        }
        for (size_t k = 0; k < rl.n; k++) {
                size_t idx;
                if (!record_find(roles[k].r, "grants", &idx))
                        continue;
                for (size_t j = 0; j < callrole_record_n_values(roles[k].r, idx); j++) {
                        const char *g = callrole_record_value(roles[k].r, idx, j);
                        _cleanup_free_ char *name = strndup(g, strcspn(g, "@/"));
                        if (!name || (!strv_contains(perms, name) && strv_extend(&perms, name) < 0)) {
                                ret = oom();
                                goto finish;
                        }
                }
        }
        if (!perms && !(perms = calloc(1, sizeof(char *)))) {
                ret = oom();
                goto finish;
        }

        if (html) {
                ret = matrix_html(html, roles, rl.n, perms, profile ? profile : account);
                if (ret == EXIT_OK && !streq_ptr(html, "-"))
                        fprintf(stderr, "wrote the matrix of %zu roles and %zu permissions to %s\n", rl.n,
                                strv_length(perms), html);
                goto finish;
        }
        if (ctl->json) {
                ret = matrix_json(roles, rl.n, perms);
                goto finish;
        }
        if (rl.n == 0) {
                puts("no roles");
                goto finish;
        }

        headers = calloc(rl.n + 1, sizeof(char *));
        if (!headers) {
                ret = oom();
                goto finish;
        }
        headers[0] = "PERMISSION";
        for (size_t i = 0; i < rl.n; i++)
                headers[i + 1] = roles[i].label;
        t = table_new(headers, rl.n + 1);
        if (!t) {
                ret = oom();
                goto finish;
        }
        for (char **perm = perms; *perm; perm++) {
                if (table_add(t, *perm) < 0) {
                        ret = oom();
                        goto finish;
                }
                for (size_t i = 0; i < rl.n; i++) {
                        _cleanup_free_ char *cell = matrix_cell(&roles[i], *perm);
                        /* An empty cell is a blank, not "-": the ✓s must stand out. */
                        if (!cell || table_add(t, isempty(cell) ? " " : cell) < 0) {
                                ret = oom();
                                goto finish;
                        }
                }
        }
        if (table_print(t, stdout) < 0) {
                ret = errorf("cannot write to standard output: %m");
                goto finish;
        }
        printf("\n%s\n", MATRIX_LEGEND);

finish:
        for (size_t i = 0; roles && i < rl.n; i++)
                free(roles[i].label);
        return ret;
}

/* ---- commands: users --------------------------------------------------- */

typedef struct UserArgs {
        const char *role, *account, *display_name;
        char **groups, **ivrs, **acg, **only, **notify;
        bool groups_set, ivrs_set, acg_set, only_set, notify_set;
        int enabled;   /* -1 not given, 0 disable, 1 enable */
} UserArgs;

static void user_args_done(UserArgs *a) {
        strv_free(a->groups);
        strv_free(a->ivrs);
        strv_free(a->acg);
        strv_free(a->only);
        strv_free(a->notify);
}

static int cmd_user_add_or_set(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "role", required_argument, NULL, ARG_ROLE },
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "groups", required_argument, NULL, ARG_GROUPS },
                { "ivrs", required_argument, NULL, ARG_IVRS },
                { "acg", required_argument, NULL, ARG_ACG },
                { "only", required_argument, NULL, ARG_ONLY },
                { "display-name", required_argument, NULL, ARG_DISPLAY_NAME },
                { "disabled", no_argument, NULL, ARG_DISABLED },
                { "enable", no_argument, NULL, ARG_ENABLE },
                { "disable", no_argument, NULL, ARG_DISABLE },
                { "notify", required_argument, NULL, ARG_NOTIFY },
                {}
        };
        bool set = streq_ptr(cmd->verb, "set");
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_(user_args_done) UserArgs a = { .enabled = -1 };
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0) {
                switch (c) {
                case ARG_ROLE:
                        if ((r = check_name_arg(cmd, "--role", optarg)) != 0)
                                return r;
                        a.role = optarg;
                        break;
                case ARG_ACCOUNT:
                        if ((r = check_name_arg(cmd, "--account", optarg)) != 0)
                                return r;
                        a.account = optarg;
                        break;
                case ARG_GROUPS:
                        a.groups_set = true;
                        if ((r = split_list(cmd, "--groups", optarg, true, &a.groups)) != 0)
                                return r;
                        break;
                case ARG_IVRS:
                        a.ivrs_set = true;
                        if ((r = split_list(cmd, "--ivrs", optarg, true, &a.ivrs)) != 0)
                                return r;
                        break;
                case ARG_ACG:
                        a.acg_set = true;
                        if ((r = split_list(cmd, "--acg", optarg, true, &a.acg)) != 0)
                                return r;
                        break;
                case ARG_ONLY:
                        a.only_set = true;
                        if ((r = split_list(cmd, "--only", optarg, false, &a.only)) != 0)
                                return r;
                        break;
                case ARG_NOTIFY: {
                        /* Repeatable and comma-separated; '' (user set)
                         * switches every notification off. */
                        size_t from = strv_length(a.notify);
                        a.notify_set = true;
                        if ((r = split_list(cmd, "--notify", optarg, false, &a.notify)) != 0)
                                return r;
                        for (size_t i = from; a.notify && a.notify[i]; i++)
                                if ((r = check_notify_arg(cmd, a.notify[i])) != 0)
                                        return r;
                        break;
                }
                case ARG_DISPLAY_NAME:
                        a.display_name = optarg;
                        break;
                case ARG_DISABLED:
                case ARG_ENABLE:
                case ARG_DISABLE: {
                        int want = c == ARG_ENABLE;
                        if (set && c == ARG_DISABLED)
                                return usage_error(cmd, "'user set' takes --enable or --disable");
                        if (!set && c != ARG_DISABLED)
                                return usage_error(cmd, "'user add' takes --disabled to add a disabled user");
                        if (a.enabled >= 0 && a.enabled != want)
                                return usage_error(cmd, "--enable and --disable contradict each other");
                        a.enabled = want;
                        break;
                }
                }
        }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the user NAME")) != 0 ||
            (r = check_name_arg(cmd, "user", argv[optind])) != 0)
                return r;
        if (!set && !a.role)
                return usage_error(cmd, "missing --role ROLE: every user has a role (use a role without grants, "
                                   "such as 'No Access', for users who must not log in)");
        if (set && !a.role && a.enabled < 0 && !a.display_name && !a.groups_set && !a.ivrs_set && !a.acg_set &&
            !a.only_set && !a.notify_set)
                return usage_error(cmd, "nothing to change: give --role, --enable, --disable, --display-name, "
                                   "--groups, --ivrs, --acg, --only or --notify");

        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0 || (r = param(p, "role", a.role)) < 0 ||
            (r = param(p, "account", a.account)) < 0 || (r = param(p, "display-name", a.display_name)) < 0 ||
            (r = param(p, "enabled", a.enabled < 0 ? NULL : a.enabled ? "yes" : "no")) < 0 ||
            /* For add an empty list is the same as none: send nothing. */
            (r = param_list(p, "groups", a.groups, a.groups_set && (set || a.groups))) < 0 ||
            (r = param_list(p, "ivrs", a.ivrs, a.ivrs_set && (set || a.ivrs))) < 0 ||
            (r = param_list(p, "acg", a.acg, a.acg_set && (set || a.acg))) < 0 ||
            (r = param_list(p, "only", a.only, a.only_set && (set || a.only))) < 0 ||
            (r = param_list(p, "notify", a.notify, a.notify_set && (set || a.notify))) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, set ? "user.set" : "user.add", p);
}

static int cmd_user_delete(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        const char *account = NULL;
        int r;

        if ((r = parse_account_only(ctl, cmd, argc, argv, &account)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 1, 1, "the user NAME")) != 0 ||
            (r = check_name_arg(cmd, "user", argv[optind])) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0 || (r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        return run_change(ctl, "user.delete", p);
}

static const Column membership_columns[] = {
        { "account", "ACCOUNT" },
        { "role", "ROLE" },
        { "role-title", "TITLE" },
        { "rank", "RANK" },
        { "groups", "GROUPS" },
        { "ivrs", "IVRS" },
        { "acg", "ACG" },
        { "only", "ONLY" },
        { "notify", "NOTIFY" },
};

static int cmd_user_show(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = { {} };
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_records_ RecordList l = {};
        _cleanup_free_ char *name = NULL, *display = NULL;
        const callrole_record *first;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                ;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the user NAME")) != 0 ||
            (r = check_name_arg(cmd, "user", argv[optind])) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "name", argv[optind])) < 0)
                return params_failed(cmd, r);
        r = call(ctl, "user.get", p, &l);
        if (r != 0)
                return r;
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                return print_json(o);
        }
        if (l.n == 0)
                return errorf("callroled knows no user '%s' (or does not let you see it)", argv[optind]);

        first = l.items[0];
        name = text_sanitize(callrole_record_get(first, "name") ?: argv[optind]);
        display = text_sanitize(callrole_record_get(first, "display-name"));
        if (!name || !display)
                return oom();
        printf("%s%s%s%s, %s\n", name, isempty(display) ? "" : " (", display, isempty(display) ? "" : ")",
               streq_ptr(callrole_record_get(first, "enabled"), "no") ? "disabled" : "enabled");
        /* A user with no membership at all comes back as one record without
         * an account. */
        if (l.n == 1 && isempty(callrole_record_get(first, "account"))) {
                puts("no memberships: the user holds no role in any account");
                return EXIT_OK;
        }
        return print_records(ctl, &l, membership_columns, ELEMENTSOF(membership_columns), "memberships");
}

static int cmd_user_list(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "role", required_argument, NULL, ARG_ROLE },
                { "account", required_argument, NULL, ARG_ACCOUNT },
                {}
        };
        static const Column cols[] = {
                { "name", "NAME" },
                { "display-name", "DISPLAY NAME" },
                { "enabled", "ENABLED" },
                { "account", "ACCOUNT" },
                { "role", "ROLE" },
                { "groups", "GROUPS" },
                { "ivrs", "IVRS" },
                { "acg", "ACG" },
        };
        _cleanup_records_ RecordList l = {};
        const char *role = NULL, *account = NULL, *after = NULL;
        char limit[16];
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                switch (c) {
                case ARG_ROLE:
                        if ((r = check_name_arg(cmd, "--role", optarg)) != 0)
                                return r;
                        role = optarg;
                        break;
                case ARG_ACCOUNT:
                        if ((r = check_name_arg(cmd, "--account", optarg)) != 0)
                                return r;
                        account = optarg;
                        break;
                }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;
        (void) snprintf(limit, sizeof(limit), "%u", CTL_PAGE);

        /* Pages: ask for the users after the last one seen until a page
         * comes back short.  A user's memberships are consecutive records;
         * if a full page ends inside a user's run, the run may continue on
         * the next page, so that user is asked for again in full: the page
         * is kept only up to the user before.  (after points into a reply
         * that l keeps alive.) */
        for (;;) {
                _cleanup_(callrole_record_freep) callrole_record *p = NULL;
                callrole_reply *rep = NULL;
                size_t n, keep;

                if (params_new(&p) < 0)
                        return oom();
                if ((r = param(p, "role", role)) < 0 || (r = param(p, "account", account)) < 0 ||
                    (r = param(p, "after", after)) < 0 || (r = param(p, "limit", limit)) < 0)
                        return params_failed(cmd, r);
                if ((r = ctl_open(ctl)) != 0)
                        return r;
                r = callrole_call(ctl->c, "user.list", p, &rep);
                if (r < 0)
                        return call_failed(ctl, r);
                n = callrole_reply_n_records(rep);
                keep = n;
                if (n >= CTL_PAGE) {
                        const char *last = callrole_record_get(callrole_reply_record(rep, n - 1), "name");
                        while (keep > 0 && streq_ptr(callrole_record_get(callrole_reply_record(rep, keep - 1), "name"), last))
                                keep--;
                        if (keep == 0)
                                keep = n;   /* one user fills the page: take it whole */
                }
                if (record_list_take(&l, rep, keep) < 0)
                        return oom();
                if (n < CTL_PAGE)
                        break;
                after = callrole_record_get(l.items[l.n - 1], "name");
                if (!after)
                        return errorf("callroled sent a user without a name; cannot page on");
        }
        return print_records(ctl, &l, cols, ELEMENTSOF(cols), "users");
}

/* ---- commands: check and scope ----------------------------------------- */

static int cmd_check(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "account", required_argument, NULL, ARG_ACCOUNT },
                { "attr", required_argument, NULL, ARG_ATTR },
                {}
        };
        _cleanup_(callrole_decision_freep) callrole_decision *d = NULL;
        _cleanup_(attrs_done) Attrs attrs = {};
        _cleanup_free_ callrole_attr *av = NULL;
        const char *account = NULL;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                switch (c) {
                case ARG_ACCOUNT:
                        if ((r = check_name_arg(cmd, "--account", optarg)) != 0)
                                return r;
                        account = optarg;
                        break;
                case ARG_ATTR:
                        if ((r = attrs_add(cmd, &attrs, optarg, true)) != 0)
                                return r;
                        break;
                }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 2, 2, argc - optind == 0 ? "USER and PERMISSION" : "PERMISSION")) != 0 ||
            (r = check_name_arg(cmd, "user", argv[optind])) != 0 ||
            (r = check_name_arg(cmd, "permission", argv[optind + 1])) != 0)
                return r;

        av = calloc(attrs.n ? attrs.n : 1, sizeof(callrole_attr));
        if (!av)
                return oom();
        for (size_t i = 0; i < attrs.n; i++)
                av[i] = (callrole_attr) { .key = attrs.keys[i], .value = attrs.values[i] };

        if ((r = ctl_open(ctl)) != 0)
                return r;
        r = callrole_check(ctl->c, argv[optind], argv[optind + 1], account, av, attrs.n, &d);
        if (r < 0)
                return call_failed(ctl, r);

        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                if (!o ||
                    json_object_object_add(o, "allowed", json_object_new_boolean(r > 0)) < 0 ||
                    json_object_object_add(o, "reason",
                                           json_object_new_string(callrole_reason_to_string(callrole_decision_reason(d)))) < 0 ||
                    json_object_object_add(o, "role", json_object_new_string(callrole_decision_role(d) ?: "")) < 0 ||
                    json_object_object_add(o, "account", json_object_new_string(callrole_decision_account(d) ?: "")) < 0 ||
                    json_object_object_add(o, "detail", json_object_new_string(callrole_decision_detail(d) ?: "")) < 0)
                        return oom();
                r = print_json(o) == EXIT_OK ? (r > 0 ? EXIT_OK : EXIT_DENIED) : EXIT_ERROR;
                return r;
        }
        if (r > 0) {
                puts("allow");
                return EXIT_OK;
        } else {
                _cleanup_free_ char *detail = text_sanitize(callrole_decision_detail(d));
                if (!detail)
                        return oom();
                printf("deny: %s", callrole_reason_to_string(callrole_decision_reason(d)));
                if (!isempty(detail))
                        printf(" (%s)", detail);
                putchar('\n');
                return EXIT_DENIED;
        }
}

static int cmd_scope(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        _cleanup_(callrole_reply_freep) callrole_reply *rep = NULL;
        _cleanup_records_ RecordList l = {};
        const char *account = NULL;
        int r;

        if ((r = parse_account_only(ctl, cmd, argc, argv, &account)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 2, 2, argc - optind == 0 ? "USER and PERMISSION" : "PERMISSION")) != 0 ||
            (r = check_name_arg(cmd, "user", argv[optind])) != 0 ||
            (r = check_name_arg(cmd, "permission", argv[optind + 1])) != 0)
                return r;
        if ((r = ctl_open(ctl)) != 0)
                return r;
        r = callrole_scope(ctl->c, argv[optind], argv[optind + 1], account, &rep);
        if (r < 0)
                return call_failed(ctl, r);
        if (record_list_take(&l, TAKE_PTR(rep), SIZE_MAX) < 0)
                return oom();
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, true);
                return print_json(o);
        }

        /* One line per alternative; the constraints of a line all hold. */
        if (l.n == 0) {
                printf("nothing: %s may see no data under %s\n", argv[optind], argv[optind + 1]);
                return EXIT_OK;
        }
        for (size_t i = 0; i < l.n; i++) {
                const callrole_record *rec = l.items[i];
                size_t nf = callrole_record_n_fields(rec);

                fputs(i == 0 ? "" : "or ", stdout);
                if (nf == 0)
                        fputs("everything (unrestricted)", stdout);
                for (size_t f = 0; f < nf; f++) {
                        size_t nv = callrole_record_n_values(rec, f);
                        _cleanup_free_ char *key = text_sanitize(callrole_record_key(rec, f));
                        if (!key)
                                return oom();
                        printf("%s%s %s ", f ? " and " : "", key, nv == 1 ? "=" : "in");
                        if (nv != 1)
                                putchar('(');
                        for (size_t v = 0; v < nv; v++) {
                                _cleanup_free_ char *val = text_sanitize(callrole_record_value(rec, f, v));
                                if (!val)
                                        return oom();
                                printf("%s%s", v ? ", " : "", val);
                        }
                        if (nv != 1)
                                putchar(')');
                }
                putchar('\n');
        }
        return EXIT_OK;
}

/* ---- commands: import and export --------------------------------------- */

/* Reads a whole file ("-": standard input) of at most max bytes. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        int in;

        if (streq_ptr(path, "-"))
                in = STDIN_FILENO;
        else {
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return negative_errno();
                in = fd;
        }
        for (;;) {
                ssize_t k;
                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 64 * 1024;
                        char *nb;
                        if (cap > max)
                                return -EFBIG;
                        if (ncap > max + 1)
                                ncap = max + 1;
                        nb = realloc(buf, ncap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                k = read(in, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > max)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* The row of the batch that the daemon's error message names, if any: the
 * daemon says "import entry N (user 'NAME')"; look for the user name. */
static const CsvUser *import_failed_row(const char *msg, const CsvUser *batch, size_t n) {
        if (!msg)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *needle = NULL;
                if (asprintf(&needle, "user '%s'", batch[i].fields[CSV_NAME]) < 0)
                        return NULL;
                if (strstr(msg, needle))
                        return &batch[i];
        }
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(CsvImport *, csv_import_free);

/* What the row adds to an import request: each column the file has is one
 * value, a length and the bytes. */
static size_t import_row_bytes(const CsvImport *imp, const CsvUser *u) {
        size_t n = 0;

        for (int col = 0; col < _CSV_COLUMN_MAX; col++)
                if (imp->columns[col] >= 0)
                        n += 2 + strlen(u->fields[col]);
        return n;
}

/* How many users from first on go into one request: at most
 * CTL_IMPORT_BATCH, and fewer when their values would not fit the request
 * cap (fields are at most CSV_FIELD_MAX bytes, so one row always fits). */
static size_t import_batch_size(const CsvImport *imp, size_t first) {
        size_t n = 0, bytes = 0;

        while (n < CTL_IMPORT_BATCH && first + n < imp->n_users) {
                size_t b = import_row_bytes(imp, &imp->users[first + n]);
                if (n > 0 && b > CTL_IMPORT_BYTES - bytes)
                        break;
                bytes += b;
                n++;
        }
        return n;
}

static int cmd_import(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = { {} };
        _cleanup_(csv_import_freep) CsvImport *imp = NULL;
        _cleanup_records_ RecordList effects = {};
        _cleanup_free_ char *data = NULL, *err = NULL;
        const char *path;
        size_t len = 0, done = 0;
        bool progress = isatty(STDERR_FILENO);
        int c, r, dry = 0;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                ;
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 1, 1, "the CSV FILE to import (or - for standard input)")) != 0)
                return r;
        path = argv[optind];

        r = read_file(path, CSV_FILE_MAX, &data, &len);
        if (r == -EFBIG)
                return errorf("'%s' is larger than %u MiB; split it into smaller files", path, CSV_FILE_MAX >> 20);
        if (r == -ENOMEM)
                return oom();
        if (r < 0)
                return errorf("cannot read '%s': %s", path, strerror(-r));

        /* All of the file is checked before anything is sent, so a mistake
         * anywhere in it changes nothing. */
        r = csv_import_parse(data, len, &imp, &err);
        if (r == -ENOMEM)
                return oom();
        if (r < 0)
                return errorf("%s, %s; nothing was imported", path, err ? err : strerror(-r));
        if (imp->n_users == 0) {
                fprintf(stderr, "%s has a header but no users; nothing to import\n", path);
                return EXIT_OK;
        }
        if ((r = ctl_open(ctl)) != 0)
                return r;

        while (done < imp->n_users) {
                _cleanup_(callrole_record_freep) callrole_record *p = NULL;
                callrole_reply *rep = NULL;
                const CsvUser *batch = imp->users + done;
                size_t n = import_batch_size(imp, done);
                RecordList page = {};

                if (params_new(&p) < 0)
                        return oom();
                /* Parallel lists: value i of every field belongs to user i.
                 * Only the columns the file has are sent, so a file of the
                 * old columns makes the request it always made. */
                for (size_t i = 0; i < n; i++)
                        for (int col = 0; col < _CSV_COLUMN_MAX; col++)
                                if (imp->columns[col] >= 0 &&
                                    (r = callrole_record_add(p, csv_column_to_string(col), batch[i].fields[col])) < 0) {
                                        if (r == -ENOMEM)
                                                return oom();
                                        return errorf("%s, line %lu: a value is too long for callrole; nothing of "
                                                     "lines %lu-%lu was imported",
                                                     path, batch[i].line, batch[0].line, batch[n - 1].line);
                                }

                r = callrole_call(ctl->c, "import", p, &rep);
                if (r < 0) {
                        const char *msg = callrole_last_error(ctl->c);
                        const CsvUser *bad = import_failed_row(msg, batch, n);
                        int ret = call_failed(ctl, r);

                        if (bad)
                                fprintf(stderr, "callrolectl: %s, line %lu (user '%s') was refused; ", path, bad->line,
                                        bad->fields[CSV_NAME]);
                        else
                                fprintf(stderr, "callrolectl: %s, the batch of lines %lu-%lu was refused; ", path,
                                        batch[0].line, batch[n - 1].line);
                        if (done == 0 || ctl->dry_run)
                                fputs("nothing was imported\n", stderr);
                        else
                                fprintf(stderr,
                                        "the %zu users before it (lines %lu-%lu) were imported and stay committed: "
                                        "remove those rows from the file before running the import again\n",
                                        done, imp->users[0].line, batch[-1].line);
                        if (ctl->json) {
                                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&effects, false);
                                (void) print_json(o);
                        }
                        return ret;
                }
                if (!ctl->json) {
                        if (record_list_take(&page, rep, SIZE_MAX) < 0) {
                                record_list_done(&page);
                                return oom();
                        }
                        r = effects_print(&page, stdout);
                        record_list_done(&page);
                        if (r < 0)
                                return oom();
                        dry = dry || r > 0;
                        fflush(stdout);
                } else if (record_list_take(&effects, rep, SIZE_MAX) < 0)
                        return oom();
                done += n;
                if (progress && done < imp->n_users)
                        fprintf(stderr, "imported %zu/%zu\n", done, imp->n_users);
        }

        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&effects, false);
                r = print_json(o);
                if (r != EXIT_OK)
                        return r;
        }
        if (dry || ctl->dry_run)
                fprintf(stderr, "checked %zu/%zu users from %s; dry run: nothing was changed\n", done, imp->n_users,
                        path);
        else
                fprintf(stderr, "imported %zu/%zu users from %s\n", done, imp->n_users, path);
        return EXIT_OK;
}

static int cmd_export(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_records_ RecordList l = {};
        const char *account = NULL;
        const char *header[_CSV_COLUMN_MAX];
        int r;

        if ((r = parse_account_only(ctl, cmd, argc, argv, &account)) != 0)
                return account_only_exit(r);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;
        if (params_new(&p) < 0)
                return oom();
        if ((r = param(p, "account", account)) < 0)
                return params_failed(cmd, r);
        r = call(ctl, "export", p, &l);
        if (r != 0)
                return r;
        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                return print_json(o);
        }

        /* The columns import reads, in its order, so export | import is a
         * round trip: every per-membership setting (lists, notifications
         * switched on, only patterns) and whether the user is enabled. */
        for (int col = 0; col < _CSV_COLUMN_MAX; col++)
                header[col] = csv_column_to_string(col);
        r = csv_write_row(stdout, header, _CSV_COLUMN_MAX);
        for (size_t i = 0; i < l.n && r >= 0; i++) {
                char *row[_CSV_COLUMN_MAX] = {};
                for (int col = 0; col < _CSV_COLUMN_MAX; col++) {
                        row[col] = record_join(l.items[i], csv_column_to_string(col), ",");
                        if (!row[col])
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = csv_write_row(stdout, (const char *const *) row, _CSV_COLUMN_MAX);
                for (int col = 0; col < _CSV_COLUMN_MAX; col++)
                        free(row[col]);
        }
        if (r == -ENOMEM)
                return oom();
        if (r < 0)
                return errorf("cannot write to standard output: %m");
        return EXIT_OK;
}

/* ---- command: audit ---------------------------------------------------- */

static char *format_time(const char *unix_seconds) {
        int64_t v;
        time_t t;
        struct tm tm;
        char buf[sizeof("9999-12-31T23:59:59Z") + 16];

        if (parse_int64(unix_seconds, 0, INT64_MAX, &v) < 0)
                return strdup(unix_seconds ? unix_seconds : "");
        t = (time_t) v;
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strdup(unix_seconds);
        return strdup(buf);
}

static int cmd_audit(Ctl *ctl, const Command *cmd, int argc, char **argv) {
        static const struct option opts[] = {
                { "since", required_argument, NULL, ARG_SINCE },
                {}
        };
        static const char *const headers[] = { "ID", "TIME", "BY", "ACTION", "TARGET", "BEFORE", "AFTER" };
        _cleanup_records_ RecordList l = {};
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *after = NULL;
        char since[32] = "", limit[16];
        int64_t v;
        int c, r;

        while ((c = next_option(ctl, cmd, argc, argv, opts)) >= 0)
                if (c == ARG_SINCE) {
                        r = parse_since(optarg, (int64_t) time(NULL), &v);
                        if (r == -ENOMEM)
                                return oom();
                        if (r < 0)
                                return usage_error(cmd, "--since '%s' is not a time: give unix seconds, a date or "
                                                   "time such as 2026-11-24 or 2026-11-24T10:00:00Z, or an age "
                                                   "such as 90m, 1h, 2d or 1w",
                                                   optarg);
                        (void) snprintf(since, sizeof(since), "%" PRId64, v);
                }
        if (c != OPT_END)
                return options_end(c);
        if ((r = positional(cmd, argc, argv, 0, 0, "")) != 0)
                return r;
        (void) snprintf(limit, sizeof(limit), "%u", CTL_PAGE);

        /* Pages by id: ask for the records after the last id seen until a
         * page comes back short. */
        for (;;) {
                _cleanup_(callrole_record_freep) callrole_record *p = NULL;
                size_t before = l.n;

                if (params_new(&p) < 0)
                        return oom();
                if ((r = param(p, "since", *since ? since : NULL)) < 0 || (r = param(p, "after", after)) < 0 ||
                    (r = param(p, "limit", limit)) < 0)
                        return params_failed(cmd, r);
                r = call(ctl, "audit", p, &l);
                if (r != 0)
                        return r;
                if (l.n - before < CTL_PAGE)
                        break;
                free(after);
                after = strdup(callrole_record_get(l.items[l.n - 1], "id") ?: "");
                if (!after)
                        return oom();
                if (isempty(after))
                        return errorf("callroled sent an audit record without an id; cannot page on");
        }

        if (ctl->json) {
                _cleanup_(json_object_putp) json_object *o = record_list_to_json(&l, false);
                return print_json(o);
        }
        if (l.n == 0) {
                puts("no audit records");
                return EXIT_OK;
        }
        t = table_new(headers, ELEMENTSOF(headers));
        if (!t)
                return oom();
        for (size_t i = 0; i < l.n; i++) {
                const callrole_record *rec = l.items[i];
                const char *peer = callrole_record_get(rec, "peer-user"), *as = callrole_record_get(rec, "as-user");
                _cleanup_free_ char *when = format_time(callrole_record_get(rec, "time")), *by = NULL;

                if (asprintf(&by, "%s%s%s%s", isempty(peer) ? "uid " : "",
                             isempty(peer) ? (callrole_record_get(rec, "peer-uid") ?: "?") : peer,
                             isempty(as) ? "" : " as ", isempty(as) ? "" : as) < 0)
                        by = NULL;
                if (!when || !by || table_add(t, callrole_record_get(rec, "id")) < 0 || table_add(t, when) < 0 ||
                    table_add(t, by) < 0 || table_add(t, callrole_record_get(rec, "action")) < 0 ||
                    table_add(t, callrole_record_get(rec, "target")) < 0 ||
                    table_add(t, callrole_record_get(rec, "before")) < 0 ||
                    table_add(t, callrole_record_get(rec, "after")) < 0)
                        return oom();
        }
        if (table_print(t, stdout) < 0)
                return errorf("cannot write to standard output: %m");
        return EXIT_OK;
}

/* ---- dispatch ---------------------------------------------------------- */

static const Command commands[] = {
        { "status", NULL, cmd_status, "", "Show callroled's version, counts and who you are to it." },
        { "profile", "list", cmd_profile_list, "", "List the role models (profiles) that can be loaded." },
        { "profile", "load", cmd_profile_load, "NAME [--account A]",
          "Load a profile's permissions, roles and rules into an account." },
        { "account", "list", cmd_account_list, "", "List accounts with their agency, plan and seats." },
        { "account", "add", cmd_account_add_or_set, "NAME [--parent AGENCY] [--plan PLAN] [--seats N|unlimited] [--attr KEY=VALUE]...",
          "Add an account (a tenant), optionally under an agency." },
        { "account", "set", cmd_account_add_or_set,
          "NAME [--plan P] [--seats N|unlimited] [--hide PERM]... [--unhide PERM]... [--attr KEY=VALUE]... "
          "[--notification NAME=PERM]...",
          "Change an account's plan, seats, hidden features, attributes or notifications." },
        { "plan", "set", cmd_plan_set, "NAME FEATURE...", "Set the features (permission patterns) a plan includes." },
        { "permission", "list", cmd_permission_list, "", "List the permission catalogue." },
        { "permission", "add", cmd_permission_add, "NAME [--description S]", "Add a permission to the catalogue." },
        { "role", "list", cmd_role_list, "[--account A | --profile P]",
          "List roles with their rank and number of grants (--profile: as a profile file defines them)." },
        { "role", "show", cmd_role_show, "ROLE [--account A]", "Show a role and all of its grants." },
        { "role", "add", cmd_role_add,
          "ROLE --rank N [--grant PERM[@SCOPE]]... [--title S] [--account A] [--agency-only]",
          "Add a role.  SCOPE: assigned, direction=inbound, direction=outbound, groups, ivrs, acg (join with +)." },
        { "role", "delete", cmd_role_delete, "ROLE [--account A]", "Delete a role that no user holds." },
        { "role", "del", cmd_role_delete, "ROLE [--account A]", NULL },
        { "role", "matrix", cmd_role_matrix, "[--account A | --profile P] [--html FILE]",
          "Show which role holds which permission: rows permissions, columns roles by rank (--profile: the "
          "profile file's roles, loaded or not)." },
        { "rule", "add", cmd_rule_add, "--if PATTERN --requires PATTERN [--account A]",
          "Add a rule every role must satisfy (a role granting --if must grant --requires)." },
        { "user", "add", cmd_user_add_or_set,
          "NAME --role ROLE [--account A] [--groups g1,g2] [--ivrs i1,i2] [--acg a1] [--only PERM,...] "
          "[--notify NAME[=on],...] [--display-name S] [--disabled]",
          "Add a user, or a membership in another account." },
        { "user", "set", cmd_user_add_or_set,
          "NAME [--role ROLE] [--enable|--disable] [--account A] [--groups ...] [--ivrs ...] [--acg ...] "
          "[--only ...] [--notify NAME[=on|off],...] [--display-name S]",
          "Change a user (an empty list such as --groups '' clears it; --notify '' switches all off)." },
        { "user", "del", cmd_user_delete, "NAME [--account A]",
          "Delete a user, or only their membership in --account." },
        { "user", "delete", cmd_user_delete, "NAME [--account A]", NULL },
        { "user", "show", cmd_user_show, "NAME", "Show a user and their memberships." },
        { "user", "list", cmd_user_list, "[--role R] [--account A]", "List the users you may see." },
        { "check", NULL, cmd_check, "USER PERMISSION [--account A] [--attr KEY=VALUE]...",
          "May USER do PERMISSION?  Prints allow or deny: REASON; exit 0 allow, 1 deny.  KEY: direction, "
          "assignee, group, ivr, acg." },
        { "scope", NULL, cmd_scope, "USER PERMISSION [--account A]",
          "Which data USER may see under PERMISSION (the filters a host application applies)." },
        { "import", NULL, cmd_import, "FILE.csv",
          "Add users from a CSV file with the columns export writes (- reads stdin)." },
        { "export", NULL, cmd_export, "[--account A]", "Write the users as CSV, in the columns import reads." },
        { "audit", NULL, cmd_audit, "[--since T]",
          "Show the audit log; T is unix seconds, 2026-11-24[T10:00:00Z] or an age such as 1h or 2d." },
};
static const size_t n_commands = ELEMENTSOF(commands);

static void help(FILE *f) {
        fputs("usage: callrolectl [OPTIONS] COMMAND [ARGS]\n"
              "\n"
              "Administer callrole's roles, users and permissions through callroled.\n"
              "\n"
              "Options (before the command, or among its options):\n"
              "  --socket PATH   callroled's socket (default: $" CALLROLE_SOCKET_ENV ", else " CALLROLE_SOCKET_DEFAULT ")\n"
              "  --json          print JSON for programs instead of tables\n"
              "  --dry-run       check a change and show its effect without committing it\n"
              "  --as USER       act with USER's authority (administrators only)\n"
              "  --timeout MS    give up on callroled after MS milliseconds (default 5000)\n"
              "  --help          show this help, or a command's ('callrolectl user add --help')\n"
              "  --version       show the version\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < n_commands; i++) {
                const Command *c = &commands[i];
                if (!c->summary)
                        continue;   /* an alias */
                fputs("  ", f);
                fputs(c->group, f);
                if (c->verb)
                        fprintf(f, " %s", c->verb);
                if (!isempty(c->synopsis))
                        fprintf(f, " %s", c->synopsis);
                fputc('\n', f);
        }
        fputs("\nExit status: 0 ok (check: allowed), 1 check denied, 2 usage error,\n"
              "3 callroled unreachable, 4 any other error.  See callrolectl(1).\n",
              f);
}


static const Command *find_command(const char *group, const char *verb, bool *ret_group_known) {
        bool known = false;

        for (size_t i = 0; i < n_commands; i++) {
                if (!streq_ptr(commands[i].group, group))
                        continue;
                known = true;
                if (!commands[i].verb || streq_ptr(commands[i].verb, verb)) {
                        *ret_group_known = true;
                        return &commands[i];
                }
        }
        *ret_group_known = known;
        return NULL;
}

static int verbs_of(const char *group, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        bool first = true;

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n_commands; i++)
                if (streq_ptr(commands[i].group, group) && commands[i].verb && commands[i].summary) {
                        fprintf(f, "%s%s", first ? "" : ", ", commands[i].verb);
                        first = false;
                }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

static int run(Ctl *ctl, int argc, char **argv) {
        const Command *cmd;
        bool group_known;
        int c, r, skip;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "+:h", global_options, NULL)) != -1) {
                if (c == '?' || c == ':') {
                        (void) bad_option(NULL, c, argv);
                        return EXIT_USAGE;
                }
                r = global_option(ctl, NULL, c, optarg);
                if (r == OPT_DONE)
                        return EXIT_OK;
                if (r != 0)
                        return EXIT_USAGE;
        }
        if (optind >= argc) {
                help(stderr);
                fputs("\ncallrolectl: missing COMMAND\n", stderr);
                return EXIT_USAGE;
        }

        cmd = find_command(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &group_known);
        if (!cmd) {
                _cleanup_free_ char *verbs = NULL;
                if (!group_known)
                        return usage_error(NULL, "unknown command '%s'", argv[optind]);
                if (verbs_of(argv[optind], &verbs) < 0)
                        return oom();
                if (optind + 1 >= argc)
                        return usage_error(NULL, "'%s' needs one of: %s", argv[optind], verbs);
                return usage_error(NULL, "unknown command '%s %s'; '%s' takes: %s", argv[optind], argv[optind + 1],
                                   argv[optind], verbs);
        }

        /* The command sees its own words as argv[0], like a program; optind
         * = 0 makes getopt start afresh (and re-read its option string). */
        skip = optind + (cmd->verb ? 1 : 0);
        optind = 0;
        return cmd->run(ctl, cmd, argc - skip, argv + skip);
}

int main(int argc, char **argv) {
        Ctl ctl = {};
        int r;

        r = run(&ctl, argc, argv);
        callrole_free(ctl.c);
        free(ctl.merged);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "callrolectl: cannot write to standard output: %m\n");
                if (r == EXIT_OK || r == EXIT_DENIED)
                        r = EXIT_ERROR;
        }
        return r;
}
