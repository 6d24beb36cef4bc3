/*
 * log.h: the daemon's logging.  Under systemd (stderr connected to the
 * journal) records go to the journal with structured fields; in the
 * foreground they are readable lines on stderr.  Only the daemon logs;
 * the library, the engine and the store return errors instead.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_setup(bool force_stderr);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);   /* LOG_* or -EINVAL */

/* Returns -abs(error) when error != 0, so "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);
#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)

/* One check decision, with CALLROLE_USER=, CALLROLE_PERMISSION=,
 * CALLROLE_DECISION= and CALLROLE_REASON= fields in the journal. */
void log_decision(int level, unsigned peer_uid, const char *user, const char *permission, const char *account,
                  bool allowed, const char *reason, const char *detail);
