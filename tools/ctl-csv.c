/*
 * ctl-csv.c: the CSV reader and writer behind `callrolectl import` and
 * `callrolectl export` (the dialect is described in ctl-csv.h).
 *
 * The reader never trusts the file: every index is compared against the
 * bytes left (capped at CSV_RECORD_MAX for the record being read), fields
 * are counted against CSV_FIELDS_MAX, and NUL bytes are refused because
 * they would cut a name short on its way to the daemon.  Every message
 * names the line and says what to change, because the person reading it
 * has a spreadsheet open, not a debugger.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include "callrole-wire.h"
#include "ctl-csv.h"
#include "macro.h"

#define CSV_COLUMN_LIST "name, role, account, display-name, groups, enabled, ivrs, acg, notify, only"
#define CSV_HEADER_EXAMPLE "name,role,account,display-name,groups,enabled,ivrs,acg,notify,only"

_Static_assert(CSV_FIELD_MAX == CR_STR_MAX, "a CSV field is sent as one wire string");

static const char *const column_names[_CSV_COLUMN_MAX] = {
        [CSV_NAME] = "name",
        [CSV_ROLE] = "role",
        [CSV_ACCOUNT] = "account",
        [CSV_DISPLAY_NAME] = "display-name",
        [CSV_GROUPS] = "groups",
        [CSV_ENABLED] = "enabled",
        [CSV_IVRS] = "ivrs",
        [CSV_ACG] = "acg",
        [CSV_NOTIFY] = "notify",
        [CSV_ONLY] = "only",
};

const char *csv_column_to_string(CsvColumn c) {
        if ((int) c < 0 || c >= _CSV_COLUMN_MAX)
                return NULL;
        return column_names[c];
}

void csv_parser_init(CsvParser *ps, const char *p, size_t len) {
        *ps = (CsvParser) {
                .p = p,
                .left = p ? len : 0,
                .line = 1,
        };
}

void csv_parser_done(CsvParser *ps) {
        free(ps->message);
        ps->message = NULL;
}

/* Records the first failure (invariant 1 of CsvParser: it sticks). */
_printf_(4, 5) static int parser_fail(CsvParser *ps, int error, unsigned long line, const char *fmt, ...) {
        char *text = NULL, *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (text && asprintf(&msg, "line %lu: %s", line, text) < 0)
                msg = NULL;
        free(text);

        free(ps->message);
        ps->message = msg;
        ps->error = error;
        return error;
}

static int parser_too_long(CsvParser *ps) {
        return parser_fail(ps, -EMSGSIZE, ps->line,
                           "the record is longer than %u bytes; no user row is that long, so this is probably "
                           "not a user list (or a quote is not closed): check the file",
                           CSV_RECORD_MAX);
}

static int parser_nul(CsvParser *ps, unsigned long line) {
        return parser_fail(ps, -EBADMSG, line,
                           "the file contains a NUL byte; it looks binary or UTF-16: save it as UTF-8 CSV");
}

/* Copies p[start..end) into a new string, turning "" into " when the field
 * was quoted. */
static char *field_copy(const char *p, size_t start, size_t end, bool quoted) {
        char *s = malloc(end - start + 1);
        size_t n = 0;

        if (!s)
                return NULL;
        for (size_t i = start; i < end; i++) {
                s[n++] = p[i];
                if (quoted && p[i] == '"')
                        i++;   /* the parser saw "" here: skip the second quote */
        }
        s[n] = '\0';
        return s;
}

int csv_parser_next(CsvParser *ps, char ***ret_fields, unsigned long *ret_line) {
        _cleanup_strv_free_ char **fields = NULL;
        size_t n_fields = 0, i = 0, lim;
        unsigned long newlines = 0;
        const char *p;

        if (!ps || !ret_fields || !ret_line)
                return -EINVAL;
        if (ps->error)
                return ps->error;
        if (ps->left == 0)
                return 0;

        p = ps->p;
        lim = ps->left < CSV_RECORD_MAX ? ps->left : CSV_RECORD_MAX;

        for (;;) {
                size_t start, end;
                bool quoted = false;
                char *f, **nf;

                if (n_fields >= CSV_FIELDS_MAX)
                        return parser_fail(ps, -EMSGSIZE, ps->line,
                                           "more than %u fields; an import row has at most the columns "
                                           CSV_COLUMN_LIST,
                                           CSV_FIELDS_MAX);

                if (i < lim && p[i] == '"') {
                        unsigned long open_line = ps->line + newlines;

                        quoted = true;
                        start = ++i;
                        for (;;) {
                                if (i >= lim) {
                                        if (lim < ps->left)
                                                return parser_too_long(ps);
                                        return parser_fail(ps, -EBADMSG, open_line,
                                                           "a quoted field is never closed; add the closing '\"' "
                                                           "(a quote inside a quoted field is written \"\")");
                                }
                                if (p[i] == '\0')
                                        return parser_nul(ps, ps->line + newlines);
                                if (p[i] == '"') {
                                        if (lim - i > 1 && p[i + 1] == '"') {
                                                i += 2;
                                                continue;
                                        }
                                        break;
                                }
                                if (p[i] == '\n')
                                        newlines++;
                                i++;
                        }
                        end = i++;   /* past the closing quote */
                } else {
                        start = i;
                        for (; i < lim && p[i] != ',' && p[i] != '\r' && p[i] != '\n'; i++) {
                                if (p[i] == '"')
                                        return parser_fail(ps, -EBADMSG, ps->line + newlines,
                                                           "a '\"' inside a field that does not start with one; "
                                                           "enclose the whole field in double quotes and write "
                                                           "the quote as \"\"");
                                if (p[i] == '\0')
                                        return parser_nul(ps, ps->line + newlines);
                        }
                        end = i;
                }

                f = field_copy(p, start, end, quoted);
                if (!f)
                        return -ENOMEM;
                nf = realloc(fields, (n_fields + 2) * sizeof(char *));
                if (!nf) {
                        free(f);
                        return -ENOMEM;
                }
                fields = nf;
                fields[n_fields++] = f;
                fields[n_fields] = NULL;

                if (i >= lim) {
                        if (lim < ps->left)
                                return parser_too_long(ps);
                        break;   /* the data ends without a line end */
                }
                if (p[i] == ',') {
                        i++;
                        continue;
                }
                if (p[i] == '\n') {
                        i++;
                        newlines++;
                        break;
                }
                if (p[i] == '\r') {
                        if (lim - i > 1 && p[i + 1] == '\n') {
                                i += 2;
                                newlines++;
                                break;
                        }
                        if (lim - i == 1 && lim < ps->left)
                                return parser_too_long(ps);
                        return parser_fail(ps, -EBADMSG, ps->line + newlines,
                                           "a carriage return without a line feed; save the file with LF or "
                                           "CRLF line ends");
                }
                /* Only a closing quote can be followed by anything else. */
                if (p[i] == '\0')
                        return parser_nul(ps, ps->line + newlines);
                return parser_fail(ps, -EBADMSG, ps->line + newlines,
                                   "text after the closing '\"' of a quoted field; a quote inside a quoted field "
                                   "is written \"\" and the field must end at the closing quote");
        }

        *ret_line = ps->line;
        ps->line += newlines;
        ps->p += i;
        ps->left -= i;
        *ret_fields = TAKE_PTR(fields);
        return 1;
}

/* A value quoted for a message: at most 64 bytes, control and non-ASCII
 * bytes escaped, so a hostile file cannot put escape sequences on the
 * administrator's terminal.  NULL on ENOMEM. */
static char *value_for_message(const char *s) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        size_t n = 0;

        if (!f)
                return NULL;
        for (; *s && n < 64; s++, n++) {
                unsigned char ch = (unsigned char) *s;
                if (ch < 0x20 || ch >= 0x7f)
                        fprintf(f, "\\x%02x", ch);
                else
                        fputc(ch, f);
        }
        if (*s)
                fputs("...", f);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

_printf_(3, 4) static int import_fail(char **ret_error, unsigned long line, const char *fmt, ...) {
        char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (text && ret_error) {
                char *msg = NULL;
                if (line > 0) {
                        if (asprintf(&msg, "line %lu: %s", line, text) < 0)
                                msg = NULL;
                        free(text);
                } else
                        msg = text;
                free(*ret_error);
                *ret_error = msg;
        } else
                free(text);
        return -EINVAL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Strips blanks at both ends, in place. */
static void strip(char *s) {
        size_t n = strlen(s), b = 0;

        while (n > 0 && is_blank(s[n - 1]))
                n--;
        while (b < n && is_blank(s[b]))
                b++;
        memmove(s, s + b, n - b);
        s[n - b] = '\0';
}

static int header_column(const char *raw) {
        _cleanup_free_ char *s = strdup(raw);

        if (!s)
                return -ENOMEM;
        strip(s);
        for (char *c = s; *c; c++) {
                if (*c == '_' || *c == ' ')
                        *c = '-';
                else
                        *c = (char) tolower((unsigned char) *c);
        }
        for (int c = 0; c < _CSV_COLUMN_MAX; c++)
                if (strcmp(s, column_names[c]) == 0)
                        return c;
        return -ENOENT;
}

static bool record_is_blank(char *const *fields) {
        if (!fields[0] || fields[1])
                return false;
        for (const char *c = fields[0]; *c; c++)
                if (!is_blank(*c))
                        return false;
        return true;
}

static int parse_header(CsvParser *ps, CsvImport *imp, size_t *ret_n_columns, char **ret_error) {
        _cleanup_strv_free_ char **fields = NULL;
        unsigned long line = 0;
        size_t n;
        int r;

        for (;;) {
                fields = strv_free(fields);
                r = csv_parser_next(ps, &fields, &line);
                if (r < 0)
                        return r;
                if (r == 0)
                        return import_fail(ret_error, 0,
                                           "the file has no header; its first line must name the columns, "
                                           "for example: " CSV_HEADER_EXAMPLE);
                if (!record_is_blank(fields))
                        break;
        }

        n = strv_length(fields);
        for (int c = 0; c < _CSV_COLUMN_MAX; c++)
                imp->columns[c] = -1;
        for (size_t i = 0; i < n; i++) {
                int c = header_column(fields[i]);
                if (c == -ENOMEM)
                        return c;
                if (c < 0) {
                        _cleanup_free_ char *v = value_for_message(fields[i]);
                        return import_fail(ret_error, line,
                                           "unknown column '%s'; the first line must be a header naming the "
                                           "columns, which are " CSV_COLUMN_LIST " (in any order)",
                                           v ?: "?");
                }
                if (imp->columns[c] >= 0)
                        return import_fail(ret_error, line, "the column '%s' appears twice in the header; keep one",
                                           column_names[c]);
                imp->columns[c] = (int) i;
        }
        for (int c = CSV_NAME; c <= CSV_ROLE; c++)
                if (imp->columns[c] < 0)
                        return import_fail(ret_error, line,
                                           "the header has no '%s' column; the first line must name the columns, "
                                           "for example: " CSV_HEADER_EXAMPLE,
                                           column_names[c]);
        *ret_n_columns = n;
        return 0;
}

static int check_name(const char *value, unsigned long line, const char *what, char **ret_error) {
        _cleanup_free_ char *v = NULL;

        if (name_is_valid(value) >= 0)
                return 0;
        v = value_for_message(value);
        return import_fail(ret_error, line,
                           "'%s' is not a valid %s name; names are 1 to 64 printable ASCII characters without "
                           "blanks, quotes or any of /@+,=\\;:|<>*?[]{}()$&#! and do not start with '-' or '.'",
                           v ?: "?", what);
}

/* One entry of the notify column: a bare name.  NAME=on and NAME=off are
 * what `user set --notify` takes; here they get their own answer, since a
 * row adds a membership and a new membership has nothing switched on. */
static int check_notify_entry(const char *value, unsigned long line, const char *what, char **ret_error) {
        const char *eq = strchr(value, '=');
        _cleanup_free_ char *v = NULL;

        if (!eq)
                return check_name(value, line, what, ret_error);
        v = value_for_message(value);
        return import_fail(ret_error, line,
                           "'%s' in the notify list: the list names the notifications to switch on, so write "
                           "the name alone (a new membership starts with all of them off)",
                           v ?: "?");
}

/* One entry of the only column: a permission pattern, by the rules the
 * daemon applies to it (store.c), so a file that passes here is not
 * refused there for its syntax.  Unlike a name, a pattern may hold the
 * wildcards * ? [ ] ! and may start with '-' or '.'. */
static int check_pattern(const char *value, unsigned long line, const char *what, char **ret_error) {
        _cleanup_free_ char *v = NULL;
        size_t n = strnlen(value, CR_NAME_MAX + 1);
        bool ok = n > 0 && n <= CR_NAME_MAX;

        for (size_t i = 0; ok && i < n; i++) {
                unsigned char ch = (unsigned char) value[i];
                ok = ch > 0x20 && ch < 0x7f && !strchr("\"'`/@+,=\\;:|<>{}()$&#", ch);
        }
        if (ok)
                return 0;
        v = value_for_message(value);
        return import_fail(ret_error, line,
                           "'%s' is not a valid %s; a pattern is 1 to %u characters of permission names and the "
                           "wildcards * ? [ ] !, without blanks, quotes or any of /@+,=\\;:|<>{}()$&#",
                           v ?: "?", what, CR_NAME_MAX);
}

/* The list columns: what one entry of each is called in messages, and how
 * an entry is checked. */
static const struct {
        CsvColumn column;
        const char *entry;
        int (*check)(const char *value, unsigned long line, const char *what, char **ret_error);
} list_columns[] = {
        { CSV_GROUPS, "group", check_name },
        { CSV_IVRS, "IVR", check_name },
        { CSV_ACG, "access-control group", check_name },
        { CSV_NOTIFY, "notification", check_notify_entry },
        { CSV_ONLY, "permission pattern", check_pattern },
};

/* Normalises "sales, support" to "sales,support" and checks each entry with
 * check; column says which list it is, entry what one item in it is
 * called. */
static int normalize_list(char **value, const char *column, const char *entry,
                          int (*check)(const char *, unsigned long, const char *, char **), unsigned long line,
                          char **ret_error) {
        _cleanup_free_ char *out = NULL;
        size_t out_len = 0;
        char *s = *value, *item;

        strip(s);
        if (!*s)
                return 0;
        out = malloc(strlen(s) + 1);
        if (!out)
                return -ENOMEM;
        for (item = s;;) {
                char *comma = strchr(item, ',');
                size_t n;
                int r;

                if (comma)
                        *comma = '\0';
                strip(item);
                if (!*item)
                        return import_fail(ret_error, line,
                                           "the %s list has an empty entry; write it as a1,a2 without a comma at "
                                           "the start, the end or twice in a row",
                                           column);
                r = check(item, line, entry, ret_error);
                if (r < 0)
                        return r;
                n = strlen(item);
                if (out_len > 0)
                        out[out_len++] = ',';
                memcpy(out + out_len, item, n);
                out_len += n;
                if (!comma)
                        break;
                item = comma + 1;
        }
        out[out_len] = '\0';
        free(*value);
        *value = TAKE_PTR(out);
        return 0;
}

/* "yes", "no" (any case, blanks around ignored) or empty; normalised to
 * lower case, which is what the daemon takes.  Nothing else: a spreadsheet's
 * TRUE or 1 would be a guess, and a wrong guess enables an account. */
static int normalize_enabled(char *value, const char *user, unsigned long line, char **ret_error) {
        _cleanup_free_ char *v = NULL;

        strip(value);
        if (!*value)
                return 0;
        if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "no") == 0) {
                for (char *c = value; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                return 0;
        }
        v = value_for_message(value);
        return import_fail(ret_error, line,
                           "enabled is '%s' for user '%s'; write yes or no, or leave it empty (a new user is "
                           "then enabled, an existing one stays as it is)",
                           v ?: "?", user);
}

static int user_from_record(const CsvImport *imp, char **fields, unsigned long line, CsvUser *ret,
                            char **ret_error) {
        CsvUser u = { .line = line };
        int r;

        for (int c = 0; c < _CSV_COLUMN_MAX; c++) {
                u.fields[c] = strdup(imp->columns[c] >= 0 ? fields[imp->columns[c]] : "");
                if (!u.fields[c]) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        strip(u.fields[CSV_NAME]);
        strip(u.fields[CSV_ROLE]);
        strip(u.fields[CSV_ACCOUNT]);

        if (isempty(u.fields[CSV_NAME])) {
                r = import_fail(ret_error, line, "the name is empty; every row needs a user name");
                goto fail;
        }
        r = check_name(u.fields[CSV_NAME], line, "user", ret_error);
        if (r < 0)
                goto fail;
        if (isempty(u.fields[CSV_ROLE])) {
                r = import_fail(ret_error, line, "user '%s' has no role; fill in the role column",
                                u.fields[CSV_NAME]);
                goto fail;
        }
        r = check_name(u.fields[CSV_ROLE], line, "role", ret_error);
        if (r < 0)
                goto fail;
        if (!isempty(u.fields[CSV_ACCOUNT])) {
                r = check_name(u.fields[CSV_ACCOUNT], line, "account", ret_error);
                if (r < 0)
                        goto fail;
        }
        r = normalize_enabled(u.fields[CSV_ENABLED], u.fields[CSV_NAME], line, ret_error);
        if (r < 0)
                goto fail;
        for (size_t k = 0; k < ELEMENTSOF(list_columns); k++) {
                CsvColumn c = list_columns[k].column;
                r = normalize_list(&u.fields[c], column_names[c], list_columns[k].entry, list_columns[k].check,
                                   line, ret_error);
                if (r < 0)
                        goto fail;
        }
        /* Each field goes to the daemon as one wire string, as normalised
         * here: one that could not be sent must stop the import now, before
         * anything is committed, not in the middle of it. */
        for (int c = 0; c < _CSV_COLUMN_MAX; c++) {
                size_t n = strlen(u.fields[c]);
                if (n > CSV_FIELD_MAX) {
                        r = import_fail(ret_error, line,
                                        "the %s field of user '%s' is %zu bytes long; callrole takes at most %u "
                                        "bytes in one field: shorten it",
                                        column_names[c], u.fields[CSV_NAME], n, CSV_FIELD_MAX);
                        goto fail;
                }
        }

        *ret = u;
        return 0;
fail:
        for (int c = 0; c < _CSV_COLUMN_MAX; c++)
                free(u.fields[c]);
        return r;
}

CsvImport *csv_import_free(CsvImport *imp) {
        if (!imp)
                return NULL;
        for (size_t i = 0; i < imp->n_users; i++)
                for (int c = 0; c < _CSV_COLUMN_MAX; c++)
                        free(imp->users[i].fields[c]);
        free(imp->users);
        free(imp);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(CsvImport *, csv_import_free);

static int user_cmp(const void *a, const void *b) {
        const CsvUser *x = *(const CsvUser *const *) a, *y = *(const CsvUser *const *) b;
        int r = strcmp(x->fields[CSV_NAME], y->fields[CSV_NAME]);

        if (r == 0)
                r = strcmp(x->fields[CSV_ACCOUNT], y->fields[CSV_ACCOUNT]);
        if (r == 0)
                r = x->line < y->line ? -1 : x->line > y->line;
        return r;
}

/* The same user twice in one account would make the second row silently
 * win (or fail half-way through the import); find it now.  Sorting keeps
 * this O(n log n) for files of a million rows; of all duplicates the one
 * that comes first in the file is reported. */
static bool same_user(const CsvUser *a, const CsvUser *b) {
        return strcmp(a->fields[CSV_NAME], b->fields[CSV_NAME]) == 0 &&
               strcmp(a->fields[CSV_ACCOUNT], b->fields[CSV_ACCOUNT]) == 0;
}

/* Being enabled belongs to the user, not to one membership: if the rows of
 * a user (one per account) said both yes and no, whichever the daemon
 * applied last would win.  idx is sorted by user_cmp, so the rows of one
 * user are adjacent; of all such users the one whose contradiction comes
 * first in the file is reported. */
static int check_enabled(const CsvUser *const *idx, size_t n, char **ret_error) {
        const CsvUser *first = NULL, *again = NULL;

        for (size_t i = 0, j; i < n; i = j) {
                const CsvUser *yes = NULL, *no = NULL;

                for (j = i; j < n && strcmp(idx[i]->fields[CSV_NAME], idx[j]->fields[CSV_NAME]) == 0; j++) {
                        const CsvUser *u = idx[j];
                        if (strcmp(u->fields[CSV_ENABLED], "yes") == 0 && (!yes || u->line < yes->line))
                                yes = u;
                        else if (strcmp(u->fields[CSV_ENABLED], "no") == 0 && (!no || u->line < no->line))
                                no = u;
                }
                if (yes && no) {
                        const CsvUser *early = yes->line < no->line ? yes : no, *late = early == yes ? no : yes;
                        if (!again || late->line < again->line) {
                                first = early;
                                again = late;
                        }
                }
        }
        if (!again)
                return 0;
        return import_fail(ret_error, again->line,
                           "user '%s' is enabled=%s here but enabled=%s on line %lu; a user is enabled or disabled "
                           "in all accounts at once, so give the same value on every row of the user (or leave it "
                           "empty on all but one)",
                           again->fields[CSV_NAME], again->fields[CSV_ENABLED], first->fields[CSV_ENABLED],
                           first->line);
}

static int check_duplicates(const CsvImport *imp, char **ret_error) {
        _cleanup_free_ const CsvUser **idx = NULL;
        const CsvUser *first = NULL, *again = NULL;

        if (imp->n_users < 2)
                return 0;
        idx = calloc(imp->n_users, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        for (size_t i = 0; i < imp->n_users; i++)
                idx[i] = &imp->users[i];
        qsort(idx, imp->n_users, sizeof(*idx), user_cmp);
        /* Equal keys are adjacent and ordered by line: in each run the first
         * row is the original and the second the earliest repeat. */
        for (size_t i = 0, j; i < imp->n_users; i = j) {
                for (j = i + 1; j < imp->n_users && same_user(idx[i], idx[j]); j++)
                        ;
                if (j - i > 1 && (!again || idx[i + 1]->line < again->line)) {
                        first = idx[i];
                        again = idx[i + 1];
                }
        }
        if (!again)
                return check_enabled(idx, imp->n_users, ret_error);
        if (isempty(again->fields[CSV_ACCOUNT]))
                return import_fail(ret_error, again->line,
                                   "user '%s' (no account given) already appears on line %lu; keep one row per "
                                   "user and account",
                                   again->fields[CSV_NAME], first->line);
        return import_fail(ret_error, again->line,
                           "user '%s' in account '%s' already appears on line %lu; keep one row per user and "
                           "account",
                           again->fields[CSV_NAME], again->fields[CSV_ACCOUNT], first->line);
}

int csv_import_parse(const char *p, size_t len, CsvImport **ret, char **ret_error) {
        _cleanup_(csv_import_freep) CsvImport *imp = NULL;
        CsvParser ps;
        size_t n_columns = 0, cap = 0;
        int r;

        if ((!p && len > 0) || !ret)
                return -EINVAL;
        if (len >= 2 && (((unsigned char) p[0] == 0xff && (unsigned char) p[1] == 0xfe) ||
                         ((unsigned char) p[0] == 0xfe && (unsigned char) p[1] == 0xff)))
                return import_fail(ret_error, 1, "the file is UTF-16 text; save it as UTF-8 CSV");
        if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
                p += 3;   /* spreadsheets start UTF-8 files with a byte-order mark */
                len -= 3;
        }

        imp = calloc(1, sizeof(*imp));
        if (!imp)
                return -ENOMEM;

        csv_parser_init(&ps, p, len);
        r = parse_header(&ps, imp, &n_columns, ret_error);
        if (r < 0)
                goto parser_error;

        for (;;) {
                _cleanup_strv_free_ char **fields = NULL;
                unsigned long line;
                size_t n;

                r = csv_parser_next(&ps, &fields, &line);
                if (r < 0)
                        goto parser_error;
                if (r == 0)
                        break;
                if (record_is_blank(fields))
                        continue;
                n = strv_length(fields);
                if (n != n_columns) {
                        r = import_fail(ret_error, line,
                                        "%zu field%s but the header names %zu column%s; a field with a comma "
                                        "in it (a list of groups, IVRs, ACGs, notifications or only patterns, a "
                                        "display name) must be enclosed in double quotes",
                                        n, n == 1 ? "" : "s", n_columns, n_columns == 1 ? "" : "s");
                        goto done;
                }
                if (imp->n_users == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        CsvUser *nu;
                        if (ncap > SIZE_MAX / sizeof(CsvUser)) {
                                r = -ENOMEM;
                                goto done;
                        }
                        nu = realloc(imp->users, ncap * sizeof(CsvUser));
                        if (!nu) {
                                r = -ENOMEM;
                                goto done;
                        }
                        imp->users = nu;
                        cap = ncap;
                }
                r = user_from_record(imp, fields, line, &imp->users[imp->n_users], ret_error);
                if (r < 0)
                        goto done;
                imp->n_users++;
        }

        r = check_duplicates(imp, ret_error);
        if (r < 0)
                goto done;

        csv_parser_done(&ps);
        *ret = TAKE_PTR(imp);
        return 0;

parser_error:
        /* A failure of the parser itself comes with its own message; a
         * header problem has already filled *ret_error. */
        if (ps.message && ret_error) {
                free(*ret_error);
                *ret_error = TAKE_PTR(ps.message);
        }
done:
        csv_parser_done(&ps);
        return r;
}

int csv_write_field(FILE *f, const char *s) {
        bool quote;
        size_t n;

        if (!f)
                return -EINVAL;
        if (!s)
                s = "";
        n = strlen(s);
        quote = strpbrk(s, ",\"\r\n") || (n > 0 && (is_blank(s[0]) || is_blank(s[n - 1])));
        if (!quote)
                fputs(s, f);
        else {
                fputc('"', f);
                for (; *s; s++) {
                        if (*s == '"')
                                fputc('"', f);
                        fputc(*s, f);
                }
                fputc('"', f);
        }
        return ferror(f) ? -EIO : 0;
}

int csv_write_row(FILE *f, const char *const *fields, size_t n) {
        if (!f || (!fields && n > 0))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputc(',', f);
                (void) csv_write_field(f, fields[i]);
        }
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}
