/*
 * ctl-output.c: tables, blocks, JSON and effect lines for callrolectl (see
 * ctl-output.h).  Nothing here talks to the daemon; it only shapes the
 * records the library hands back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-output.h"
#include "macro.h"

/* ---- text -------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (at least one byte, not NUL); returns
 * its length and the code point, or length 1 and U+FFFD for a malformed
 * byte, so widths stay sane on bad data. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
        } else {
                *ret = 0xfffd;
                return 1;
        }
        /* The string is NUL-terminated and NUL is not a continuation byte,
         * so this never reads past its end. */
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) {
                        *ret = 0xfffd;
                        return 1;
                }
                cp = cp << 6 | (s[i] & 0x3f);
        }
        *ret = cp;
        return n;
}

static unsigned codepoint_width(uint32_t cp) {
        if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f))
                return 0;   /* combining marks, zero-width characters, variation selectors */
        if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
            (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
            (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
            (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
                return 2;
        return 1;
}

size_t utf8_width(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t w = 0;

        if (!s)
                return 0;
        while (*p) {
                uint32_t cp;
                p += utf8_decode(p, &cp);
                w += codepoint_width(cp);
        }
        return w;
}

char *text_sanitize(const char *s) {
        char *copy = strdup(s ? s : "");

        if (!copy)
                return NULL;
        for (char *c = copy; *c; c++)
                if ((unsigned char) *c < 0x20 || (unsigned char) *c == 0x7f)
                        *c = '?';
        return copy;
}

/* ---- tables ------------------------------------------------------------ */

/* Invariant: cells holds n_cells strings, row-major; the last row may be
 * incomplete while it is being filled and is padded with "" when printed. */
struct Table {
        char **headers;
        size_t n_columns;
        char **cells;
        size_t n_cells, cap;
};

Table *table_new(const char *const *headers, size_t n_columns) {
        Table *t;

        if (!headers || n_columns == 0)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->headers = calloc(n_columns, sizeof(char *));
        if (!t->headers)
                return table_free(t);
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++) {
                t->headers[i] = text_sanitize(headers[i]);
                if (!t->headers[i])
                        return table_free(t);
        }
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        if (t->headers)
                for (size_t i = 0; i < t->n_columns; i++)
                        free(t->headers[i]);
        free(t->headers);
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

int table_add(Table *t, const char *cell) {
        char *c;

        if (!t)
                return -EINVAL;
        if (t->n_cells == t->cap) {
                size_t ncap = t->cap ? t->cap * 2 : 64;
                char **nc;
                if (ncap > SIZE_MAX / sizeof(char *))
                        return -ENOMEM;
                nc = realloc(t->cells, ncap * sizeof(char *));
                if (!nc)
                        return -ENOMEM;
                t->cells = nc;
                t->cap = ncap;
        }
        c = text_sanitize(isempty(cell) ? "-" : cell);
        if (!c)
                return -ENOMEM;
        t->cells[t->n_cells++] = c;
        return 0;
}

size_t table_n_rows(const Table *t) {
        return t ? (t->n_cells + t->n_columns - 1) / t->n_columns : 0;
}

const char *table_cell(const Table *t, size_t row, size_t column) {
        size_t i;

        if (!t || column >= t->n_columns || row >= table_n_rows(t))
                return NULL;
        i = row * t->n_columns + column;
        return i < t->n_cells ? t->cells[i] : "";
}

static void print_padded(FILE *f, const char *s, size_t width, bool last) {
        size_t w = utf8_width(s);

        fputs(s, f);
        if (!last)
                for (; w < width + 2; w++)
                        fputc(' ', f);
}

int table_print(const Table *t, FILE *f) {
        _cleanup_free_ size_t *width = NULL;
        size_t rows;

        if (!t || !f)
                return -EINVAL;
        width = calloc(t->n_columns, sizeof(size_t));
        if (!width)
                return -ENOMEM;
        for (size_t c = 0; c < t->n_columns; c++)
                width[c] = utf8_width(t->headers[c]);
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t w = utf8_width(t->cells[i]);
                if (w > width[i % t->n_columns])
                        width[i % t->n_columns] = w;
        }

        for (size_t c = 0; c < t->n_columns; c++)
                print_padded(f, t->headers[c], width[c], c + 1 == t->n_columns);
        fputc('\n', f);
        rows = table_n_rows(t);
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++)
                        print_padded(f, table_cell(t, r, c), width[c], c + 1 == t->n_columns);
                fputc('\n', f);
        }
        return ferror(f) ? -EIO : 0;
}

/* ---- records ----------------------------------------------------------- */

int record_list_take(RecordList *l, callrole_reply *rep, size_t n_take) {
        callrole_reply **nr;

        if (!l) {
                callrole_reply_free(rep);
                return -EINVAL;
        }
        if (!rep)
                return 0;
        nr = realloc(l->replies, (l->n_replies + 1) * sizeof(*nr));
        if (!nr) {
                callrole_reply_free(rep);
                return -ENOMEM;
        }
        l->replies = nr;
        l->replies[l->n_replies++] = rep;

        if (n_take > callrole_reply_n_records(rep))
                n_take = callrole_reply_n_records(rep);
        if (n_take > SIZE_MAX / sizeof(*l->items) - l->n)
                return -ENOMEM;
        if (l->n + n_take > l->cap) {
                size_t ncap = l->cap ? l->cap : 64;
                const callrole_record **ni;
                while (ncap < l->n + n_take) {
                        if (ncap > SIZE_MAX / sizeof(*l->items) / 2)
                                return -ENOMEM;
                        ncap *= 2;
                }
                ni = realloc(l->items, ncap * sizeof(*ni));
                if (!ni)
                        return -ENOMEM;
                l->items = ni;
                l->cap = ncap;
        }
        for (size_t i = 0; i < n_take; i++)
                l->items[l->n++] = callrole_reply_record(rep, i);
        return 0;
}

void record_list_done(RecordList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n_replies; i++)
                callrole_reply_free(l->replies[i]);
        free(l->replies);
        free(l->items);
        *l = (RecordList) {};
}

int record_find(const callrole_record *r, const char *key, size_t *ret_index) {
        size_t n = callrole_record_n_fields(r);

        for (size_t i = 0; i < n; i++)
                if (streq_ptr(callrole_record_key(r, i), key)) {
                        if (ret_index)
                                *ret_index = i;
                        return 1;
                }
        return 0;
}

size_t record_count(const callrole_record *r, const char *key) {
        size_t i;

        return record_find(r, key, &i) ? callrole_record_n_values(r, i) : 0;
}

char *record_join(const callrole_record *r, const char *key, const char *sep) {
        char *buf = NULL;
        size_t size = 0, i;
        FILE *f;

        if (!record_find(r, key, &i))
                return strdup("");
        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t j = 0; j < callrole_record_n_values(r, i); j++) {
                if (j > 0)
                        fputs(sep, f);
                fputs(callrole_record_value(r, i, j), f);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* ---- JSON -------------------------------------------------------------- */

bool field_is_list(const char *key) {
        static const char *const lists[] = {
                "groups", "ivrs", "acg", "only", "notify", "notifications", "grants", "hidden", "attrs", "features",
        };

        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (streq_ptr(key, lists[i]))
                        return true;
        return false;
}

static void json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

json_object *record_to_json(const callrole_record *r, bool all_lists) {
        _cleanup_json_ json_object *obj = json_object_new_object();

        if (!obj)
                return NULL;
        for (size_t i = 0; i < callrole_record_n_fields(r); i++) {
                const char *key = callrole_record_key(r, i);
                size_t n = callrole_record_n_values(r, i);
                _cleanup_json_ json_object *v = NULL;

                if (all_lists || field_is_list(key) || n > 1) {
                        v = json_object_new_array();
                        if (!v)
                                return NULL;
                        for (size_t j = 0; j < n; j++) {
                                json_object *s = json_object_new_string(callrole_record_value(r, i, j));
                                if (!s || json_object_array_add(v, s) < 0) {
                                        json_object_put(s);
                                        return NULL;
                                }
                        }
                } else if (n == 1) {
                        v = json_object_new_string(callrole_record_value(r, i, 0));
                        if (!v)
                                return NULL;
                }
                /* n == 0 on a scalar: v stays NULL, which json-c writes as null. */
                if (json_object_object_add(obj, key, v) < 0)
                        return NULL;
                v = NULL;   /* obj owns it now */
        }
        return TAKE_PTR(obj);
}

json_object *record_list_to_json(const RecordList *l, bool all_lists) {
        _cleanup_json_ json_object *arr = json_object_new_array();

        if (!arr)
                return NULL;
        for (size_t i = 0; l && i < l->n; i++) {
                json_object *o = record_to_json(l->items[i], all_lists);
                if (!o || json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        return NULL;
                }
        }
        return TAKE_PTR(arr);
}

int json_print(json_object *o, FILE *f) {
        const char *s;

        if (!f)
                return -EINVAL;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}

/* ---- blocks and effects ------------------------------------------------ */

int record_print_block(const callrole_record *r, FILE *f) {
        size_t n = callrole_record_n_fields(r), width = 0;

        for (size_t i = 0; i < n; i++) {
                size_t w = utf8_width(callrole_record_key(r, i));
                if (w > width)
                        width = w;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *key = text_sanitize(callrole_record_key(r, i));
                size_t nv = callrole_record_n_values(r, i);

                if (!key)
                        return -ENOMEM;
                fprintf(f, "%s:", key);
                for (size_t w = utf8_width(key); w < width + 1; w++)
                        fputc(' ', f);
                if (nv == 0)
                        fputs(" -\n", f);
                for (size_t j = 0; j < nv; j++) {
                        _cleanup_free_ char *v = text_sanitize(callrole_record_value(r, i, j));
                        if (!v)
                                return -ENOMEM;
                        if (j > 0)
                                for (size_t w = 0; w < width + 2; w++)
                                        fputc(' ', f);
                        fprintf(f, " %s\n", v);
                }
        }
        return ferror(f) ? -EIO : 0;
}

int effects_print(const RecordList *l, FILE *f) {
        int dry = 0;

        for (size_t i = 0; l && i < l->n; i++) {
                const callrole_record *r = l->items[i];
                _cleanup_free_ char *action = text_sanitize(callrole_record_get(r, "action")),
                                    *target = text_sanitize(callrole_record_get(r, "target")),
                                    *before = text_sanitize(callrole_record_get(r, "before")),
                                    *after = text_sanitize(callrole_record_get(r, "after"));

                if (!action || !target || !before || !after)
                        return -ENOMEM;
                fprintf(f, "%s %s: %s -> %s\n", isempty(action) ? "change" : action, target,
                        isempty(before) ? "(none)" : before, isempty(after) ? "(none)" : after);
                if (streq_ptr(callrole_record_get(r, "dry-run"), "yes"))
                        dry = 1;
        }
        return dry;
}
