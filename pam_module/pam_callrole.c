/*
 * pam_callrole.c: the PAM module that gates logins and host services by
 * callrole role (pam_callrole(8)).
 *
 * account: asks callroled whether PAM_USER may do the configured permission
 * (default "login") and turns the answer into a PAM code; a denial is
 * explained to the user through the conversation ("callrole: role 'No
 * Access' does not allow login") and every decision goes to pam_syslog.
 * session: the same question, to learn the user's role and account, which
 * are exported as CALLROLE_ROLE and CALLROLE_ACCOUNT.  The other PAM
 * functions have nothing to do and return PAM_IGNORE.
 *
 * The module runs inside sshd, login, su, screen lockers and softphone
 * hosts, so:
 *  1. It never waits longer than timeout= in total: every library call gets
 *     the time left of one budget measured from the start of the PAM call
 *     (the client library bounds each call by its handle's timeout).
 *  2. It keeps no global or static mutable state and installs no signal
 *     handlers; all state lives on the stack of one PAM call, so concurrent
 *     transactions in a threaded host do not meet.
 *  3. Descriptors are the client library's (SOCK_CLOEXEC) and are closed
 *     when the handle is freed at the end of every call.
 *  4. The socket path comes from socket= or the compiled-in default, never
 *     from $CALLROLE_SOCKET (see args.h, invariant 3).
 *  5. Text from the daemon or the user is stripped of control characters
 *     before it reaches a terminal or the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "args.h"
#include "callrole.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(callrole *, callrole_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_decision *, callrole_decision_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_record *, callrole_record_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_reply *, callrole_reply_free);

/* Big enough for a name (64 bytes), a role title or one sentence from the
 * daemon; longer text is cut, which only shortens a message. */
#define TEXT_MAX 256

/* What a failed lookup means for the caller of PAM. */
typedef enum failure {
        FAILURE_UNAVAILABLE,   /* nobody answered in time: not a verdict on the user */
        FAILURE_CONFIG,        /* the service file names something the daemon does not know */
        FAILURE_NOMEM,
        FAILURE_OTHER,         /* the daemon refused us, or spoke nonsense */
} failure;

/* Everything one PAM call knows, on its stack (invariant 2). */
typedef struct context {
        pam_handle_t *pamh;
        callrole_pam_args args;
        const char *user;       /* PAM_USER, owned by libpam */
        const char *service;    /* PAM_SERVICE, owned by libpam */
        const char *socket;     /* args.socket or the default */
        bool silent;            /* quiet, or the application passed PAM_SILENT */
        uint64_t start_usec;    /* CLOCK_MONOTONIC */
        uint64_t deadline_usec; /* start + timeout */
} context;

static uint64_t now_usec(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000u;
}

static unsigned elapsed_ms(const context *ctx) {
        uint64_t now = now_usec();

        return now > ctx->start_usec ? (unsigned) ((now - ctx->start_usec) / 1000u) : 0;
}

/* A printable copy of s in buf (invariant 5): control bytes become '?',
 * and the copy is cut to fit.  NULL reads as "". */
static const char *clean(char *buf, size_t size, const char *s) {
        size_t i = 0;

        if (size == 0)
                return "";
        for (; s && s[i] && i + 1 < size; i++) {
                unsigned char ch = (unsigned char) s[i];
                buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char) ch;
        }
        buf[i] = '\0';
        return buf;
}

_printf_(2, 3) static void log_argument_problem(void *userdata, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        pam_vsyslog(userdata, LOG_ERR, format, ap);
        va_end(ap);
}

/* Parse arguments and find the user.  Returns PAM_SUCCESS to go on, or the
 * PAM code to return. */
static int prepare(context *ctx, pam_handle_t *pamh, int flags, int argc, const char **argv) {
        const void *item = NULL;
        int r;

        *ctx = (context) {
                .pamh = pamh,
                .service = "?",
                .start_usec = now_usec(),
        };

        if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS && item)
                ctx->service = item;

        r = callrole_pam_args_parse(&ctx->args, argc, argv, log_argument_problem, pamh);
        ctx->socket = ctx->args.socket ? ctx->args.socket : CALLROLE_SOCKET_DEFAULT;
        ctx->deadline_usec = ctx->start_usec + (uint64_t) ctx->args.timeout_ms * 1000u;
        ctx->silent = ctx->args.quiet || (flags & PAM_SILENT);
        if (r < 0) {
                /* args.h invariant 2: a gate whose permission we cannot read stays shut. */
                pam_syslog(pamh, LOG_ERR, "service=%s: refusing: fix the module arguments reported above",
                           ctx->service);
                return PAM_SERVICE_ERR;
        }

        r = pam_get_user(pamh, &ctx->user, NULL);
        if (r != PAM_SUCCESS) {
                pam_syslog(pamh, LOG_ERR, "service=%s: cannot get the user name: %s", ctx->service,
                           pam_strerror(pamh, r));
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r;
        }
        return PAM_SUCCESS;
}

/* Give the handle what is left of the budget (invariant 1). */
static int set_budget(const context *ctx, callrole *c) {
        uint64_t now = now_usec();

        if (now >= ctx->deadline_usec)
                return -ETIMEDOUT;
        return callrole_set_timeout(c, ctx->deadline_usec - now);
}

static int open_handle(const context *ctx, callrole **ret) {
        _cleanup_(callrole_freep) callrole *c = NULL;
        int r;

        r = callrole_new(&c);
        if (r < 0)
                return r;
        /* Always set, so $CALLROLE_SOCKET is never consulted (invariant 4). */
        r = callrole_set_socket(c, ctx->socket);
        if (r < 0)
                return r;
        /* One question per PAM call (two when a denial is explained): the
         * daemon closes the connection right after answering, instead of
         * both sides paying for our hang-up (invariant 3). */
        r = callrole_set_keep_alive(c, 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static int lookup(const context *ctx, callrole *c, callrole_decision **ret) {
        int r;

        r = set_budget(ctx, c);
        if (r < 0)
                return r;
        return callrole_check(c, ctx->user, ctx->args.permission, ctx->args.account, NULL, 0, ret);
}

/* libcallrole reports a missing socket file as -ECONNREFUSED, so -ENOENT
 * only ever comes from the daemon: unknown permission or account. */
static failure classify(int error) {
        switch (error) {
        case -ENOMEM:
                return FAILURE_NOMEM;
        case -ECONNREFUSED:
        case -ETIMEDOUT:
        case -ECONNRESET:
        case -ECONNABORTED:
        case -EPIPE:
        case -EAGAIN:
        case -ENOTCONN:
        case -ESHUTDOWN:
                return FAILURE_UNAVAILABLE;
        case -ENOENT:     /* unknown permission or account */
        case -EINVAL:     /* a name the daemon or library will not take */
        case -ENOTUNIQ:   /* the user has several accounts: account= is needed */
                return FAILURE_CONFIG;
        default:          /* -EPERM, -EACCES: this process may not ask; -EBADMSG... */
                return FAILURE_OTHER;
        }
}

/* Log a failed lookup and choose the PAM code.  unavailable and other are
 * the codes of the calling PAM function for those classes. */
static int failed(const context *ctx, const callrole *c, int error, int unavailable, int other) {
        const char *message = c ? callrole_last_error(c) : NULL;
        char user[TEXT_MAX], text[2 * TEXT_MAX];

        clean(user, sizeof user, ctx->user);
        /* The library's message names the socket and the cause; the errno
         * text is the fallback when it has none. */
        clean(text, sizeof text, isempty(message) ? callrole_strerror(error) : message);

        switch (classify(error)) {
        case FAILURE_UNAVAILABLE:
                pam_syslog(ctx->pamh, ctx->args.ignore_unavailable ? LOG_WARNING : LOG_ERR,
                           "unavailable user=%s service=%s permission=%s: %s (timeout=%ums)%s",
                           user, ctx->service, ctx->args.permission, text, ctx->args.timeout_ms,
                           ctx->args.ignore_unavailable ? "; ignored (ignore_unavailable)" : "");
                return ctx->args.ignore_unavailable ? PAM_IGNORE : unavailable;
        case FAILURE_CONFIG:
                pam_syslog(ctx->pamh, LOG_ERR,
                           "error user=%s service=%s permission=%s account=%s: %s; "
                           "check permission= and account= in the service file",
                           user, ctx->service, ctx->args.permission, ctx->args.account ? ctx->args.account : "",
                           text);
                return PAM_SERVICE_ERR;
        case FAILURE_NOMEM:
                pam_syslog(ctx->pamh, LOG_CRIT, "error user=%s service=%s: out of memory", user, ctx->service);
                return PAM_BUF_ERR;
        case FAILURE_OTHER:
        default:
                pam_syslog(ctx->pamh, LOG_ERR, "error user=%s service=%s permission=%s: %s (%s)",
                           user, ctx->service, ctx->args.permission, text, callrole_strerror(error));
                return other;
        }
}

static const char *reason_string(const callrole_decision *d) {
        const char *s = callrole_reason_to_string(callrole_decision_reason(d));

        return s ? s : "unknown";
}

static int unknown_user(const context *ctx, const char *why) {
        char user[TEXT_MAX];

        clean(user, sizeof user, ctx->user);
        if (ctx->args.ignore_unknown_user) {
                if (ctx->args.debug)
                        pam_syslog(ctx->pamh, LOG_DEBUG, "user=%s service=%s permission=%s: %s, ignored",
                                   user, ctx->service, ctx->args.permission, why);
                return PAM_IGNORE;
        }
        pam_syslog(ctx->pamh, LOG_NOTICE, "unknown user=%s service=%s permission=%s: %s", user,
                   ctx->service, ctx->args.permission, why);
        return PAM_USER_UNKNOWN;
}

/* The debug tail of a decision's log line. */
static const char *debug_suffix(const context *ctx, const callrole_decision *d, char *buf, size_t size) {
        char detail[TEXT_MAX];

        if (!ctx->args.debug)
                return "";
        (void) snprintf(buf, size, " detail=\"%s\" socket=%s timeout=%ums elapsed=%ums",
                        clean(detail, sizeof detail, callrole_decision_detail(d)), ctx->socket,
                        ctx->args.timeout_ms, elapsed_ms(ctx));
        return buf;
}

static void log_decision(const context *ctx, const callrole_decision *d, bool allowed) {
        char user[TEXT_MAX], role[TEXT_MAX], account[TEXT_MAX], extra[2 * TEXT_MAX];

        clean(user, sizeof user, ctx->user);
        clean(role, sizeof role, callrole_decision_role(d));
        clean(account, sizeof account, callrole_decision_account(d));
        pam_syslog(ctx->pamh, allowed ? LOG_INFO : LOG_NOTICE,
                   "%s user=%s service=%s permission=%s account=%s role=%s reason=%s%s",
                   allowed ? "allow" : "deny", user, ctx->service, ctx->args.permission, account, role,
                   allowed ? "none" : reason_string(d),
                   debug_suffix(ctx, d, extra, sizeof extra));
}

/* The title of ROLE in ACCOUNT ("No Access" for "no-access"), from what is
 * left of the budget.  Any failure just means the message names the id. */
static int role_title(const context *ctx, callrole *c, const char *role, const char *account, char **ret) {
        _cleanup_(callrole_record_freep) callrole_record *params = NULL;
        _cleanup_(callrole_reply_freep) callrole_reply *reply = NULL;
        const char *title;
        char *t;
        int r;

        r = callrole_record_new(&params);
        if (r < 0)
                return r;
        r = callrole_record_add(params, "role", role);
        if (r >= 0 && !isempty(account))
                r = callrole_record_add(params, "account", account);
        if (r < 0)
                return r;

        r = set_budget(ctx, c);
        if (r < 0)
                return r;
        r = callrole_call(c, "role.get", params, &reply);
        if (r < 0)
                return r;
        if (callrole_reply_n_records(reply) < 1)
                return -ENOENT;
        title = callrole_record_get(callrole_reply_record(reply, 0), "title");
        if (isempty(title))
                return -ENODATA;
        t = strdup(title);
        if (!t)
                return -ENOMEM;
        *ret = t;
        return 0;
}

/* Tell the user why, through the conversation.  The account phase runs
 * after authentication, so naming the role tells nothing to a stranger. */
static void tell_denied(const context *ctx, callrole *c, const callrole_decision *d) {
        _cleanup_free_ char *title = NULL;
        const char *role_id = callrole_decision_role(d), *account_name = callrole_decision_account(d);
        char user[TEXT_MAX], role[TEXT_MAX], account[TEXT_MAX], detail[TEXT_MAX], message[4 * TEXT_MAX];
        const char *permission = ctx->args.permission;

        if (!isempty(role_id) && role_title(ctx, c, role_id, account_name, &title) < 0)
                title = NULL;
        clean(user, sizeof user, ctx->user);
        clean(role, sizeof role, title ? title : role_id);
        clean(account, sizeof account, isempty(account_name) ? ctx->args.account : account_name);
        clean(detail, sizeof detail, callrole_decision_detail(d));
        if (!*detail)
                clean(detail, sizeof detail, reason_string(d));

        switch (callrole_decision_reason(d)) {
        case CALLROLE_REASON_DISABLED:
                (void) snprintf(message, sizeof message, "callrole: user '%s' is disabled", user);
                break;
        case CALLROLE_REASON_NO_MEMBERSHIP:
                if (*account)
                        (void) snprintf(message, sizeof message, "callrole: user '%s' has no role in account '%s'",
                                        user, account);
                else
                        (void) snprintf(message, sizeof message, "callrole: user '%s' has no role", user);
                break;
        case CALLROLE_REASON_NOT_GRANTED:
                if (*role)
                        (void) snprintf(message, sizeof message, "callrole: role '%s' does not allow %s", role,
                                        permission);
                else
                        (void) snprintf(message, sizeof message, "callrole: user '%s' may not use %s", user,
                                        permission);
                break;
        case CALLROLE_REASON_HIDDEN_BY_AGENCY:
                (void) snprintf(message, sizeof message, "callrole: %s is hidden from account '%s' by its agency",
                                permission, account);
                break;
        case CALLROLE_REASON_NOT_IN_PLAN:
                (void) snprintf(message, sizeof message, "callrole: the plan of account '%s' does not include %s",
                                account, permission);
                break;
        default:
                (void) snprintf(message, sizeof message, "callrole: role '%s' does not allow %s: %s",
                                *role ? role : "?", permission, detail);
                break;
        }

        (void) pam_error(ctx->pamh, "%s", message);
}

/* What both phases do first: parse the arguments, find the user and ask
 * the daemon.  Returns PAM_SUCCESS with the handle, the decision and
 * (unless ret_check_allowed is NULL) whether callrole_check() itself said
 * allow, or the PAM code to return (unavailable and other as for
 * failed()). */
static int prepare_and_ask(context *ctx, pam_handle_t *pamh, int flags, int argc, const char **argv,
                           int unavailable, int other, callrole **ret_c, callrole_decision **ret_d,
                           bool *ret_check_allowed) {
        _cleanup_(callrole_freep) callrole *c = NULL;
        _cleanup_(callrole_decision_freep) callrole_decision *d = NULL;
        int r;

        r = prepare(ctx, pamh, flags, argc, argv);
        if (r != PAM_SUCCESS)
                return r;
        /* A name callrole cannot store (root@host, a 200-byte name) cannot
         * be in its database: no need to ask. */
        if (name_is_valid(ctx->user) < 0)
                return unknown_user(ctx, "not a valid callrole user name");

        r = open_handle(ctx, &c);
        if (r >= 0)
                r = lookup(ctx, c, &d);
        if (r < 0)
                return failed(ctx, c, r, unavailable, other);
        if (!d)
                return failed(ctx, c, -EBADMSG, unavailable, other);
        *ret_c = TAKE_PTR(c);
        *ret_d = TAKE_PTR(d);
        if (ret_check_allowed)
                *ret_check_allowed = r > 0;
        return PAM_SUCCESS;
}

static int account_worker(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(callrole_freep) callrole *c = NULL;
        _cleanup_(callrole_decision_freep) callrole_decision *d = NULL;
        bool check_allowed = false;
        context ctx;
        int r;

        r = prepare_and_ask(&ctx, pamh, flags, argc, argv, PAM_AUTHINFO_UNAVAIL, PAM_SYSTEM_ERR, &c, &d,
                            &check_allowed);
        if (r != PAM_SUCCESS)
                return r;

        /* Both the return value and the decision must say allow. */
        if (check_allowed && callrole_decision_allowed(d) > 0) {
                log_decision(&ctx, d, true);
                return PAM_SUCCESS;
        }
        if (callrole_decision_reason(d) == CALLROLE_REASON_NO_SUCH_USER)
                return unknown_user(&ctx, "no such user in callrole");

        log_decision(&ctx, d, false);
        if (!ctx.silent)
                tell_denied(&ctx, c, d);
        return PAM_PERM_DENIED;
}

static int putenv_pair(const context *ctx, const char *name, const char *value) {
        char buf[TEXT_MAX];
        int n, r;

        /* value is a valid name (≤ 64 bytes): it always fits. */
        n = snprintf(buf, sizeof buf, "%s=%s", name, value);
        if (n < 0 || (size_t) n >= sizeof buf)
                return PAM_SESSION_ERR;
        r = pam_putenv(ctx->pamh, buf);
        if (r != PAM_SUCCESS) {
                pam_syslog(ctx->pamh, LOG_ERR, "cannot set %s: %s", name, pam_strerror(ctx->pamh, r));
                return r == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_SESSION_ERR;
        }
        return PAM_SUCCESS;
}

/* The session phase does not gate (the account phase does): it exports the
 * role the daemon names, even for a denied permission, as information for
 * programs of the session.  It is not a credential. */
static int session_worker(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(callrole_freep) callrole *c = NULL;
        _cleanup_(callrole_decision_freep) callrole_decision *d = NULL;
        const char *role, *account;
        context ctx;
        int r;

        r = prepare_and_ask(&ctx, pamh, flags, argc, argv, PAM_SESSION_ERR, PAM_SESSION_ERR, &c, &d, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (callrole_decision_reason(d) == CALLROLE_REASON_NO_SUCH_USER)
                return unknown_user(&ctx, "no such user in callrole");

        role = callrole_decision_role(d);
        account = callrole_decision_account(d);
        /* Names from the daemon go into an environment: only exact names. */
        if (name_is_valid(role) < 0) {
                if (ctx.args.debug)
                        pam_syslog(pamh, LOG_DEBUG, "session service=%s: no role to export (%s)", ctx.service,
                                   reason_string(d));
                return PAM_IGNORE;
        }
        r = putenv_pair(&ctx, "CALLROLE_ROLE", role);
        if (r != PAM_SUCCESS)
                return r;
        if (name_is_valid(account) >= 0) {
                r = putenv_pair(&ctx, "CALLROLE_ACCOUNT", account);
                if (r != PAM_SUCCESS)
                        return r;
        }
        if (ctx.args.debug)
                pam_syslog(pamh, LOG_DEBUG, "session service=%s: CALLROLE_ROLE=%s CALLROLE_ACCOUNT=%s", ctx.service,
                           role, name_is_valid(account) >= 0 ? account : "");
        return PAM_SUCCESS;
}

/* The PAM entry points: one line each. */

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return account_worker(pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return session_worker(pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_IGNORE;
}
