/*
 * macro.h: small helpers shared by every component (daemon, library, PAM
 * module, command line).  Internal; never installed.
 *
 * Ownership follows systemd's convention: a variable declared with one of
 * the _cleanup_*_ attributes is released when it leaves scope, and handing
 * it on is spelled TAKE_PTR()/TAKE_FD() so the hand-over is visible.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Move ownership out of a cleanup variable, leaving it empty. */
#define TAKE_PTR(p)                          \
        ({                                   \
                __typeof__(p) _tp_ = (p);    \
                (p) = NULL;                  \
                _tp_;                        \
        })
#define TAKE_FD(fd)                          \
        ({                                   \
                int _tf_ = (fd);             \
                (fd) = -1;                   \
                _tf_;                        \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

/* Declare a cleanup helper for a type whose destructor returns NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)  \
        static inline void func##p(type *p) {    \
                if (*p)                          \
                        (void) func(*p);         \
        }

static inline int negative_errno(void) {
        /* errno is never 0 after a failing libc call, but be defensive so a
         * failure is never reported as success. */
        return errno > 0 ? -errno : -EIO;
}

static inline int streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline int isempty(const char *s) {
        return !s || !*s;
}

/* A NULL-terminated array of strings (strv), as systemd has it. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
int strv_extend(char ***l, const char *value);
int strv_contains(char *const *l, const char *value);
char **strv_copy(char *const *l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Names of users, roles, accounts, permissions: printable ASCII without
 * spaces, 1..CALLROLE_NAME_MAX bytes.  Returns 0 or -EINVAL. */
int name_is_valid(const char *s);

/* Replace *ret_error (if ret_error is non-NULL) with a formatted message
 * and return r, so "return error_setf(ret_error, -ENOENT, ...)" reads well.
 * On allocation failure the old message is dropped and *ret_error is NULL. */
int error_setf(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
