/*
 * ctl-output.h: how callrolectl shows what callroled answers: aligned
 * tables and "key: value" blocks for people, JSON (json-c) for programs,
 * and the effect lines every change prints.
 *
 * Everything printed for people passes through text_sanitize(), because
 * display names, titles and descriptions are data other people typed and
 * must not be able to send escape sequences to an administrator's terminal.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "callrole.h"

/* Columns a person reads as one character each: UTF-8 sequences count
 * once (so "✓" keeps a table aligned), East Asian wide characters twice,
 * combining marks not at all. */
size_t utf8_width(const char *s);

/* A copy of s with control bytes (and DEL) replaced by '?'.  NULL on ENOMEM. */
char *text_sanitize(const char *s);

/* A table of text cells filled row by row, left to right. */
typedef struct Table Table;
Table *table_new(const char *const *headers, size_t n_columns);   /* NULL on ENOMEM */
Table *table_free(Table *t);
/* Appends one cell (copied and sanitised; NULL or "" shows as "-").
 * 0 or -ENOMEM. */
int table_add(Table *t, const char *cell);
size_t table_n_rows(const Table *t);
/* Columns are as wide as their widest cell and two blanks apart; the last
 * column is not padded, so no line ends in blanks.  0 or -EIO. */
int table_print(const Table *t, FILE *f);
/* The cell at (row, column), as stored; NULL when out of range. */
const char *table_cell(const Table *t, size_t row, size_t column);
static inline void table_freep(Table **t) {
        table_free(*t);
}

/*
 * Records from one or more replies (pages), kept in order.  Invariant: every
 * pointer in items points into one of replies, which the list owns.
 */
typedef struct RecordList {
        const callrole_record **items;
        size_t n, cap;
        callrole_reply **replies;
        size_t n_replies;
} RecordList;

/* Takes rep (also on failure) and appends its first n_take records.
 * 0 or -ENOMEM. */
int record_list_take(RecordList *l, callrole_reply *rep, size_t n_take);
void record_list_done(RecordList *l);

/* The index of key in r: 1 and *ret_index if present, else 0. */
int record_find(const callrole_record *r, const char *key, size_t *ret_index);
size_t record_count(const callrole_record *r, const char *key);
/* The values of key joined by sep; "" when absent.  NULL on ENOMEM. */
char *record_join(const callrole_record *r, const char *key, const char *sep);

/* Fields that are lists in every method, so JSON shows them as arrays even
 * when they hold one value or none. */
bool field_is_list(const char *key);
/* One record as a JSON object: a list field (field_is_list(), or every
 * field when all_lists) is an array; any other field is a string when it
 * has one value, null when it has none and an array when it has several.
 * NULL on ENOMEM. */
json_object *record_to_json(const callrole_record *r, bool all_lists);
json_object *record_list_to_json(const RecordList *l, bool all_lists);
/* Prints o pretty and followed by a newline.  0, -ENOMEM or -EIO. */
int json_print(json_object *o, FILE *f);

/* "key: value" lines, keys aligned; a list shows one value per line. */
int record_print_block(const callrole_record *r, FILE *f);

/* The effect of a change, one line per object changed:
 *   user.add user alice: (none) -> alice (Alice A.) enabled; default: call-agent
 * Returns 1 if any record says it was a dry run, else 0. */
int effects_print(const RecordList *l, FILE *f);
