/*
 * ctl-csv.h: the CSV files that `callrolectl import` reads and `callrolectl
 * export` writes.
 *
 * An import file is untrusted (it comes from a spreadsheet, another system,
 * a colleague's e-mail), so the parser works on a pointer and a length,
 * bounds every record and the number of fields, refuses NUL bytes, and
 * reports every problem with the line it is on and what to do about it.
 * The whole file is parsed and checked before the command line sends
 * anything, so a mistake on line 900 is found before line 2 is committed.
 *
 * Dialect (RFC 4180 with the leniencies spreadsheets need):
 *   - records end with LF or CRLF; the last one may have no line end;
 *   - a field is either bare (no '"', CR or LF in it) or enclosed in double
 *     quotes, where "" stands for one quote and line ends are data;
 *   - a UTF-8 byte-order mark at the start is skipped; blank lines are
 *     skipped;
 *   - the first record is a header naming the columns, in any order, case
 *     insensitively ('_' or ' ' may stand for '-'): name and role are
 *     required, account, display-name, groups, enabled, ivrs, acg, notify
 *     and only optional; any other column is refused, so a misspelt one is
 *     never silently dropped.
 *   - groups, ivrs, acg, notify and only are each a comma-separated list
 *     inside one field (so the field is quoted when it has more than one
 *     entry): names of groups, IVRs, access-control groups and of the
 *     notifications switched on, and for only permission patterns (the
 *     membership's narrowing of its role).  notify takes bare names, as
 *     export writes them: every row adds a membership, which starts with
 *     nothing switched on, so NAME=on would say nothing more and NAME=off
 *     nothing at all.
 *   - every field fits one wire string (CSV_FIELD_MAX bytes), so a file that
 *     passes the check is never refused half-way through for its size.
 *   - enabled is yes or no (any case), or empty: the daemon then makes a
 *     new user enabled and leaves an existing one as it is.  Being enabled
 *     belongs to the user, not to a membership, so the rows of one user
 *     (one per account) must not say both yes and no.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* One record, line end and quotes included.  Every value must also fit the
 * wire's 4096-byte strings, so a longer record is a mistake, not data. */
#define CSV_RECORD_MAX (16u * 1024u)
#define CSV_FIELDS_MAX 32u
/* One field, after its quotes are undone: one wire string (CR_STR_MAX), so
 * what is accepted here can be sent as it is. */
#define CSV_FIELD_MAX 4096u
/* A whole import file.  Large enough for a million users; a bigger file is
 * refused before it is read into memory. */
#define CSV_FILE_MAX (256u * 1024u * 1024u)

typedef enum CsvColumn {
        CSV_NAME,
        CSV_ROLE,
        CSV_ACCOUNT,
        CSV_DISPLAY_NAME,
        CSV_GROUPS,
        CSV_ENABLED,
        CSV_IVRS,
        CSV_ACG,
        CSV_NOTIFY,
        CSV_ONLY,
        _CSV_COLUMN_MAX,
} CsvColumn;

/* "name", "role", "account", "display-name", "groups", "enabled", "ivrs",
 * "acg", "notify", "only" (the order export writes them in); NULL if out of
 * range. */
const char *csv_column_to_string(CsvColumn c);

/*
 * Low level: the records of a buffer, one at a time.  Invariants:
 *   1. p/left always describe the bytes not yet consumed; a failed call
 *      consumes nothing, and every later call fails the same way.
 *   2. line is the 1-based line number where the next record starts.
 */
typedef struct CsvParser {
        const char *p;
        size_t left;
        unsigned long line;
        int error;            /* sticky: the first failure, 0 if none */
        char *message;        /* malloc'ed "line N: ...; do ..." for the first failure */
} CsvParser;

void csv_parser_init(CsvParser *ps, const char *p, size_t len);
void csv_parser_done(CsvParser *ps);
/* Returns 1 and a record (strv, at least one field; *ret_line its first
 * line), 0 at the end of the data, or a negative errno with ps->message set:
 * -EBADMSG for bad syntax (stray or unterminated quote, NUL byte, CR
 * without LF), -EMSGSIZE for a record or field count over the limits,
 * -ENOMEM. */
int csv_parser_next(CsvParser *ps, char ***ret_fields, unsigned long *ret_line);

/* One user row of an import file.  Every field is non-NULL ("" when the
 * column is absent or empty) and at most CSV_FIELD_MAX bytes; the list columns
 * (groups, ivrs, acg, notify, only) are normalised to "g1,g2" with the
 * blanks around each entry removed, enabled to "yes", "no" or "". */
typedef struct CsvUser {
        unsigned long line;
        char *fields[_CSV_COLUMN_MAX];
} CsvUser;

typedef struct CsvImport {
        CsvUser *users;
        size_t n_users;
        int columns[_CSV_COLUMN_MAX];  /* index of each column in the header, -1 if absent */
} CsvImport;

/* Parses and checks a whole import file: syntax, header, field counts,
 * names (name_is_valid, also of notifications), only patterns (the
 * daemon's rules), field sizes, a non-empty name and role on every row,
 * enabled values, that no (name, account) pair appears twice and that no
 * user is both enabled and disabled.  Returns 0 and *ret, or a negative
 * errno (those of csv_parser_next, or -EINVAL for a bad header or row) with
 * a malloc'ed message in *ret_error naming the line and what to do. */
int csv_import_parse(const char *p, size_t len, CsvImport **ret, char **ret_error);
CsvImport *csv_import_free(CsvImport *imp);

/* Writing: a field is quoted when it must be (it contains ',', '"', CR or
 * LF, or starts or ends with a blank that a reader might trim).  Return 0
 * or -EIO (the stream's error). */
int csv_write_field(FILE *f, const char *s);
int csv_write_row(FILE *f, const char *const *fields, size_t n);
