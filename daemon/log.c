/*
 * log.c: where callroled's messages go.  The journal is used when the
 * process's stderr is the journal stream systemd gave it ($JOURNAL_STREAM
 * names the device and inode of that stream), so a daemon started by hand
 * from a systemd session still prints to its terminal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-journal.h>

#include "callrole-wire.h"
#include "log.h"

static bool use_journal;
static int max_level = LOG_INFO;

/* Messages carry names from requests: a newline or an escape sequence in
 * one must not forge a log line or drive a terminal. */
static void sanitize(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        *s = '?';
}

/* At most DECISIONS_PER_SEC decision records per second; the rest are
 * counted and reported once the second is over, so a client looping on
 * denied checks cannot flush the real errors out of the journal. */
#define DECISIONS_PER_SEC 100
static uint64_t decision_window;
static unsigned decisions_in_window;
static unsigned long long decisions_suppressed;

static bool decision_allowed_to_log(void) {
        struct timespec ts;
        uint64_t sec;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        sec = (uint64_t) ts.tv_sec;
        if (sec != decision_window) {
                if (decisions_suppressed > 0)
                        log_notice("%llu check decisions were not logged (more than %d per second)",
                                   decisions_suppressed, DECISIONS_PER_SEC);
                decision_window = sec;
                decisions_in_window = 0;
                decisions_suppressed = 0;
        }
        if (decisions_in_window >= DECISIONS_PER_SEC) {
                decisions_suppressed++;
                return false;
        }
        decisions_in_window++;
        return true;
}

void log_setup(bool force_stderr) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        use_journal = false;
        if (force_stderr || !e)
                return;
        if (sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        use_journal = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq_ptr(s, names[i]))
                        return (int) i;
        return -EINVAL;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level <= max_level) {
                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                sanitize(msg);
                if (use_journal) {
                        char lbuf[16];
                        snprintf(lbuf, sizeof(lbuf), "%d", line);
                        if (error)
                                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "ERRNO=%d", error,
                                                "CODE_FILE=%s", file, "CODE_LINE=%s", lbuf, NULL);
                        else
                                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "CODE_FILE=%s", file,
                                                "CODE_LINE=%s", lbuf, NULL);
                } else
                        fprintf(stderr, "callroled: %s\n", msg);
        }
        errno = saved;
        return error ? -error : 0;
}

void log_decision(int level, unsigned peer_uid, const char *user_in, const char *permission_in,
                  const char *account_in, bool allowed, const char *reason, const char *detail_in) {
        char user[CR_NAME_MAX + 1], permission[CR_NAME_MAX + 1], account[CR_NAME_MAX + 1], detail[1024];

        if (level > max_level || !decision_allowed_to_log())
                return;
        snprintf(user, sizeof(user), "%s", user_in ? user_in : "");
        snprintf(permission, sizeof(permission), "%s", permission_in ? permission_in : "");
        snprintf(account, sizeof(account), "%s", account_in ? account_in : "");
        snprintf(detail, sizeof(detail), "%s", detail_in ? detail_in : "");
        sanitize(user);
        sanitize(permission);
        sanitize(account);
        sanitize(detail);
        if (use_journal)
                sd_journal_send("MESSAGE=check %s %s in %s by uid %u: %s%s%s%s", user, permission,
                                isempty(account) ? "-" : account, peer_uid, allowed ? "allow" : "deny",
                                allowed ? "" : " (", allowed ? "" : reason, allowed ? "" : ")",
                                "PRIORITY=%d", level, "CALLROLE_USER=%s", user, "CALLROLE_PERMISSION=%s", permission,
                                "CALLROLE_ACCOUNT=%s", account, "CALLROLE_DECISION=%s",
                                allowed ? "allow" : "deny", "CALLROLE_REASON=%s", reason ? reason : "",
                                "CALLROLE_DETAIL=%s", detail, "CALLROLE_PEER_UID=%u", peer_uid, NULL);
        else
                fprintf(stderr, "callroled: check %s %s in %s by uid %u: %s%s%s%s%s%s\n", user, permission,
                        isempty(account) ? "-" : account, peer_uid, allowed ? "allow" : "deny",
                        allowed ? "" : " (", allowed ? "" : reason, allowed ? "" : ")",
                        isempty(detail) ? "" : ": ", isempty(detail) ? "" : detail);
}
