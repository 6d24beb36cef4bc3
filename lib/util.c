/*
 * util.c: the string-array and name helpers declared in macro.h, shared by
 * every component.  Kept tiny on purpose: anything with a policy in it
 * belongs to the component that owns the policy.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "callrole-wire.h"
#include "macro.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_extend(char ***l, const char *value) {
        size_t n = strv_length(*l);
        char *copy, **nl;

        if (n >= SIZE_MAX / sizeof(char *) - 2)
                return -ENOMEM;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(copy);
                return -ENOMEM;
        }
        nl[n] = copy;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_contains(char *const *l, const char *value) {
        if (l)
                for (char *const *i = l; *i; i++)
                        if (strcmp(*i, value) == 0)
                                return 1;
        return 0;
}

char **strv_copy(char *const *l) {
        char **r = calloc(1, sizeof(char *));
        if (!r)
                return NULL;
        if (l)
                for (char *const *i = l; *i; i++)
                        if (strv_extend(&r, *i) < 0)
                                return strv_free(r);
        return r;
}

/* Names end up in file names, log lines, audit records, CSV files and
 * grant strings, so the alphabet excludes everything that has a meaning in
 * any of those: space, quotes, '/', '@', '+', ',', '=' and control bytes. */
int name_is_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return -EINVAL;
        n = strnlen(s, CR_NAME_MAX + 1);
        if (n > CR_NAME_MAX)
                return -EINVAL;
        if (s[0] == '-' || s[0] == '.')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch <= 0x20 || ch >= 0x7f)
                        return -EINVAL;
                if (strchr("\"'`/@+,=\\;:|<>*?[]{}()$&#!", ch))
                        return -EINVAL;
        }
        return 0;
}

int error_setf(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
        return r;
}
