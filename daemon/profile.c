/*
 * profile.c: reads the role models of call-center products, shipped as
 * text files in profiles/, and turns each into the list of ordinary changes
 * (permission.add, plan.set, role.add, rule.add, account.set) that loading
 * it makes.
 * Profiles are applied through the same change pipeline as any
 * callrolectl command, in one transaction, so a profile that breaks a rule
 * is refused whole.
 *
 * Format, one directive per line; '#' starts a comment; words are separated
 * by blanks; "double quotes" hold blanks, with \" and \\ escapes:
 *
 *   profile NAME "Title"
 *   permission NAME ["description"]
 *   plan NAME PATTERN...
 *   role ID RANK "Title" [agency-only]
 *   grant GRANT...                 (adds to the role above)
 *   rule IF-PATTERN requires PATTERN
 *   hide PATTERN...                (hidden from every sub-account of the target)
 *   notification NAME requires PERMISSION
 *
 * "agency-only" marks a role that may be held only in an agency (an account
 * with sub-accounts, or marked kind=agency), where it applies to every
 * sub-account.  A notification (an e-mail a user can have switched on) is
 * defined in the target account and its sub-accounts, and can be switched
 * on only for users who may use PERMISSION there.
 *
 * The text is untrusted input (a profile directory can be pointed anywhere):
 * the file, a line, a word and the number of directives are all bounded,
 * and a NUL byte is refused.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "macro.h"
#include "manager.h"

#define PROFILE_FILE_MAX (1024u * 1024u)
#define PROFILE_LINE_MAX 4096u
#define PROFILE_WORDS_MAX 256u
#define PROFILE_CHANGES_MAX 10000u

Profile *profile_free(Profile *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_changes; i++)
                cr_record_clear(&p->changes[i].params);
        free(p->changes);
        free(p->name);
        free(p->title);
        free(p);
        return NULL;
}

/* Splits one line into words in place.  Returns the word count or -EINVAL
 * with a message for unbalanced quotes. */
static int split_words(char *line, char **words, size_t max, const char **ret_problem) {
        size_t n = 0;
        char *r = line, *w = line;

        for (;;) {
                while (*r == ' ' || *r == '\t')
                        r++;
                if (!*r || *r == '#')
                        break;
                if (n >= max) {
                        *ret_problem = "too many words on one line";
                        return -EINVAL;
                }
                words[n++] = w;
                if (*r == '"') {
                        r++;
                        for (;;) {
                                if (!*r) {
                                        *ret_problem = "a quoted string is not closed";
                                        return -EINVAL;
                                }
                                if (*r == '"') {
                                        r++;
                                        break;
                                }
                                if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
                                        r++;
                                *w++ = *r++;
                        }
                        if (*r && *r != ' ' && *r != '\t') {
                                *ret_problem = "a quoted string must be followed by a blank";
                                return -EINVAL;
                        }
                } else
                        while (*r && *r != ' ' && *r != '\t')
                                *w++ = *r++;
                if (*r)
                        r++;
                *w++ = 0;
        }
        return (int) n;
}

static int add_change(Profile *p, int type, unsigned line, struct cr_record **ret) {
        ProfileChange *n;

        if (p->n_changes >= PROFILE_CHANGES_MAX)
                return -E2BIG;
        n = realloc(p->changes, (p->n_changes + 1) * sizeof(ProfileChange));
        if (!n)
                return -ENOMEM;
        p->changes = n;
        n[p->n_changes] = (ProfileChange) { .type = type, .line = line };
        *ret = &n[p->n_changes].params;
        p->n_changes++;
        return 0;
}

/* Patterns are permission names that may contain '*'. */
static bool pattern_is_valid(const char *s) {
        size_t n = strnlen(s, CR_NAME_MAX + 1);
        if (n == 0 || n > CR_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch <= 0x20 || ch >= 0x7f || strchr("\"'`/@+,=\\;:|<>?[]{}()$&#!", ch))
                        return false;
        }
        return true;
}

int profile_parse(const char *name, const char *text, size_t len, const char *account, Profile **ret,
                  char **ret_error) {
        Profile *p = NULL;
        struct cr_record *role = NULL;
        unsigned lineno = 0;
        size_t pos = 0;
        int r = 0;

        if (!name || !text || !ret)
                return -EINVAL;
        if (len > PROFILE_FILE_MAX)
                return error_setf(ret_error, -EFBIG, "profile '%s' is larger than %u bytes", name, PROFILE_FILE_MAX);
        if (memchr(text, 0, len))
                return error_setf(ret_error, -EINVAL, "profile '%s' contains a NUL byte: not a text file", name);
        account = isempty(account) ? "default" : account;

        p = calloc(1, sizeof(Profile));
        if (!p || !(p->name = strdup(name))) {
                profile_free(p);
                return -ENOMEM;
        }

        while (pos < len) {
                char buf[PROFILE_LINE_MAX + 1], *words[PROFILE_WORDS_MAX];
                const char *nl = memchr(text + pos, '\n', len - pos), *problem = NULL;
                size_t l = nl ? (size_t) (nl - (text + pos)) : len - pos;
                struct cr_record *rec;
                int n;

                lineno++;
                if (l > PROFILE_LINE_MAX) {
                        r = error_setf(ret_error, -EINVAL, "profile '%s' line %u: longer than %u bytes", name, lineno,
                                       PROFILE_LINE_MAX);
                        goto fail;
                }
                memcpy(buf, text + pos, l);
                buf[l] = 0;
                if (l > 0 && buf[l - 1] == '\r')
                        buf[l - 1] = 0;
                pos += l + (nl ? 1 : 0);

                n = split_words(buf, words, PROFILE_WORDS_MAX, &problem);
                if (n < 0) {
                        r = error_setf(ret_error, -EINVAL, "profile '%s' line %u: %s", name, lineno, problem);
                        goto fail;
                }
                if (n == 0)
                        continue;

#define NEED(cond, msg)                                                                                          \
        do {                                                                                                     \
                if (!(cond)) {                                                                                   \
                        r = error_setf(ret_error, -EINVAL, "profile '%s' line %u: %s", name, lineno, msg);      \
                        goto fail;                                                                               \
                }                                                                                                \
        } while (0)
#define TRY(expr)                   \
        do {                        \
                r = (expr);         \
                if (r < 0)          \
                        goto fail;  \
        } while (0)

                if (strcmp(words[0], "profile") == 0) {
                        NEED(n == 3, "use: profile NAME \"Title\"");
                        NEED(!p->title, "'profile' given twice");
                        NEED(strcmp(words[1], name) == 0, "the profile's name does not match its file name");
                        p->title = strdup(words[2]);
                        if (!p->title) {
                                r = -ENOMEM;
                                goto fail;
                        }
                } else if (strcmp(words[0], "permission") == 0) {
                        NEED(n == 2 || n == 3, "use: permission NAME [\"description\"]");
                        NEED(name_is_valid(words[1]) >= 0, "invalid permission name");
                        TRY(add_change(p, CR_MSG_PERMISSION_ADD, lineno, &rec));
                        TRY(cr_record_add(rec, "name", words[1]));
                        if (n == 3)
                                TRY(cr_record_add(rec, "description", words[2]));
                        role = NULL;
                } else if (strcmp(words[0], "plan") == 0) {
                        NEED(n >= 3, "use: plan NAME PATTERN...");
                        NEED(name_is_valid(words[1]) >= 0, "invalid plan name");
                        TRY(add_change(p, CR_MSG_PLAN_SET, lineno, &rec));
                        TRY(cr_record_add(rec, "name", words[1]));
                        for (int i = 2; i < n; i++) {
                                NEED(pattern_is_valid(words[i]), "invalid feature pattern");
                                TRY(cr_record_add(rec, "features", words[i]));
                        }
                        role = NULL;
                } else if (strcmp(words[0], "role") == 0) {
                        char *end;
                        long long rank;
                        NEED(n == 4 || (n == 5 && strcmp(words[4], "agency-only") == 0),
                             "use: role ID RANK \"Title\" [agency-only]");
                        NEED(name_is_valid(words[1]) >= 0, "invalid role id");
                        errno = 0;
                        rank = strtoll(words[2], &end, 10);
                        NEED(!errno && *end == 0 && end != words[2] && rank >= 0 && rank <= 1000000,
                             "the rank must be an integer from 0 to 1000000");
                        TRY(add_change(p, CR_MSG_ROLE_ADD, lineno, &role));
                        TRY(cr_record_add(role, "role", words[1]));
                        TRY(cr_record_add(role, "rank", words[2]));
                        TRY(cr_record_add(role, "title", words[3]));
                        TRY(cr_record_add(role, "account", account));
                        if (n == 5)
                                TRY(cr_record_add(role, "agency-only", "yes"));
                        TRY(cr_record_add_empty(role, "grants"));
                        p->n_roles++;
                } else if (strcmp(words[0], "grant") == 0) {
                        NEED(role, "'grant' must follow a 'role' line");
                        NEED(n >= 2, "use: grant GRANT...");
                        for (int i = 1; i < n; i++) {
                                ModelGrant g;
                                _cleanup_free_ char *err = NULL;
                                if (grant_parse(words[i], &g, &err) < 0) {
                                        r = error_setf(ret_error, -EINVAL, "profile '%s' line %u: %s", name, lineno,
                                                       err ? err : "invalid grant");
                                        goto fail;
                                }
                                grant_done(&g);
                                TRY(cr_record_add(role, "grants", words[i]));
                        }
                } else if (strcmp(words[0], "rule") == 0) {
                        NEED(n == 4 && strcmp(words[2], "requires") == 0, "use: rule PATTERN requires PATTERN");
                        NEED(pattern_is_valid(words[1]) && pattern_is_valid(words[3]), "invalid permission pattern");
                        TRY(add_change(p, CR_MSG_RULE_ADD, lineno, &rec));
                        TRY(cr_record_add(rec, "if", words[1]));
                        TRY(cr_record_add(rec, "requires", words[3]));
                        TRY(cr_record_add(rec, "account", account));
                        role = NULL;
                } else if (strcmp(words[0], "hide") == 0) {
                        NEED(n >= 2, "use: hide PATTERN...");
                        TRY(add_change(p, CR_MSG_ACCOUNT_SET, lineno, &rec));
                        TRY(cr_record_add(rec, "name", account));
                        for (int i = 1; i < n; i++) {
                                NEED(pattern_is_valid(words[i]), "invalid permission pattern");
                                TRY(cr_record_add(rec, "hide", words[i]));
                        }
                        role = NULL;
                } else if (strcmp(words[0], "notification") == 0) {
                        NEED(n == 4 && strcmp(words[2], "requires") == 0,
                             "use: notification NAME requires PERMISSION");
                        NEED(name_is_valid(words[1]) >= 0, "invalid notification name");
                        NEED(name_is_valid(words[3]) >= 0, "invalid permission name");
                        TRY(add_change(p, CR_MSG_ACCOUNT_SET, lineno, &rec));
                        TRY(cr_record_add(rec, "name", account));
                        TRY(cr_record_addf(rec, "notifications", "%s=%s", words[1], words[3]));
                        role = NULL;
                } else {
                        r = error_setf(ret_error, -EINVAL,
                                       "profile '%s' line %u: unknown directive '%s'; expected profile, permission, "
                                       "plan, role, grant, rule, hide or notification",
                                       name, lineno, words[0]);
                        goto fail;
                }
#undef NEED
#undef TRY
        }
        if (!p->title) {
                r = error_setf(ret_error, -EINVAL, "profile '%s' has no 'profile NAME \"Title\"' line", name);
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        if (r == -E2BIG)
                r = error_setf(ret_error, -E2BIG, "profile '%s' has more than %u directives", name, PROFILE_CHANGES_MAX);
        profile_free(p);
        return r;
}

static int read_profile(const char *dir, const char *name, char **ret_text, size_t *ret_len, char **ret_error) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;

        if (name_is_valid(name) < 0)
                return error_setf(ret_error, -EINVAL, "'%s' is not a valid profile name", name);
        if (asprintf(&path, "%s/%s.profile", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return error_setf(ret_error, -errno,
                                  errno == ENOENT ? "no profile '%s' (looked for %s); see 'callrolectl profile list'"
                                                  : "cannot read profile '%s' (%s): %m",
                                  name, path);
        text = malloc(PROFILE_FILE_MAX + 1);
        if (!text)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, text + len, PROFILE_FILE_MAX + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return error_setf(ret_error, -errno, "cannot read profile %s: %m", path);
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > PROFILE_FILE_MAX)
                        return error_setf(ret_error, -EFBIG, "profile %s is larger than %u bytes", path,
                                          PROFILE_FILE_MAX);
        }
        *ret_text = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

int profile_load_file(const char *dir, const char *name, const char *account, Profile **ret, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = read_profile(dir, name, &text, &len, ret_error);
        if (r < 0)
                return r;
        return profile_parse(name, text, len, account, ret, ret_error);
}

/* The roles a profile file defines, as role.list records (account empty,
 * profile the profile's name): what 'callrolectl role matrix --profile'
 * draws, whether or not the profile is loaded anywhere. */
int profile_role_records(const char *dir, const char *name, struct cr_records *ret, char **ret_error) {
        static const char *const keys[] = { "role", "title", "rank", "agency-only", "grants" };
        Profile *p = NULL;
        int r;

        if (!dir || !name || !ret)
                return -EINVAL;
        r = profile_load_file(dir, name, NULL, &p, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_changes && r >= 0; i++) {
                const struct cr_record *c = &p->changes[i].params;
                struct cr_record *rec;

                if (p->changes[i].type != CR_MSG_ROLE_ADD)
                        continue;
                rec = cr_records_append(ret);
                if (!rec) {
                        r = -ENOMEM;
                        break;
                }
                r = cr_record_add(rec, "account", "");
                if (r >= 0)
                        r = cr_record_add(rec, "profile", p->name);
                for (size_t k = 0; k < ELEMENTSOF(keys) && r >= 0; k++) {
                        const struct cr_field *f = cr_record_field(c, keys[k]);
                        if (!f && streq_ptr(keys[k], "agency-only")) {
                                r = cr_record_add(rec, keys[k], "no");
                                continue;
                        }
                        r = cr_record_add_empty(rec, keys[k]);
                        for (size_t j = 0; f && j < f->n_values && r >= 0; j++)
                                r = cr_record_add(rec, keys[k], f->values[j]);
                }
        }
        profile_free(p);
        return r < 0 ? r : 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int profile_list(const char *dir, struct cr_records *ret, char **ret_error) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        size_t n;

        d = opendir(dir);
        if (!d)
                return error_setf(ret_error, -errno, "cannot list profiles in %s: %m", dir);
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                _cleanup_free_ char *base = NULL;
                if (l <= 8 || strcmp(de->d_name + l - 8, ".profile") != 0)
                        continue;
                base = strndup(de->d_name, l - 8);
                if (!base || strv_extend(&names, base) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        if (!names)
                return 0;   /* no profiles at all */
        n = strv_length(names);
        if (n > 1)
                qsort(names, n, sizeof(char *), compare_names);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *err = NULL;
                Profile *p = NULL;
                struct cr_record *rec;
                int r;

                if (profile_load_file(dir, names[i], NULL, &p, &err) < 0)
                        continue;   /* a broken file is reported when someone loads it */
                rec = cr_records_append(ret);
                if (!rec) {
                        profile_free(p);
                        return -ENOMEM;
                }
                r = cr_record_add(rec, "name", p->name);
                if (r >= 0)
                        r = cr_record_add(rec, "title", p->title);
                if (r >= 0)
                        r = cr_record_addf(rec, "roles", "%zu", p->n_roles);
                profile_free(p);
                if (r < 0)
                        return r;
        }
        return 0;
}
