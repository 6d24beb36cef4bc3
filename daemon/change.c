/*
 * change.c: the one path every change takes.
 *
 *   1. authorise each step against the current snapshot (policy_authorize);
 *   2. BEGIN; apply each step to the store;
 *   3. bring the snapshot to what the transaction holds;
 *   4. validate what changed;
 *   5. write an audit record per step, inside the same transaction;
 *   6. COMMIT (or ROLLBACK for a dry run or any failure);
 *   7. only then answer.
 *
 * So a change is on disk before it is acknowledged and is seen by the very
 * next check, a refused change leaves no trace, and the snapshot is always
 * exactly what the database holds.
 *
 * Two ways through step 3.  Structural changes (accounts, roles, rules,
 * plans, permissions, profiles) are rare: the whole model is loaded from
 * the transaction and compiled into a new snapshot, which is validated
 * whole.  User changes are the common ones and must not cost the size of
 * the model: each user a step touches is read back from the transaction
 * (store_load_user) and patched into the snapshot in place
 * (snapshot_patch_user), every rewrite logged for undo, and only those
 * users' memberships are validated.
 *
 * User changes are also committed in groups, as databases do, because the
 * fsync of a COMMIT costs more than everything else a change does:
 *
 *     no group --user change--> OPEN: BEGIN IMMEDIATE; the change applied
 *        ^                       |    under its own savepoint, its reply
 *        |                       |    held by the server
 *        |                       +--user change--> OPEN (one more)
 *        |                       |
 *        |   any other request, the end of the event loop's round,
 *        |   SIGTERM, SIGHUP, MANAGER_GROUP_MAX changes: manager_group_flush()
 *        |                       |
 *        +---- COMMIT ok: held replies released, undo log forgotten
 *        +---- COMMIT failed: ROLLBACK, the snapshot undone to where the
 *              group began, every held reply replaced by the error
 *
 * Invariants:
 *   1. While a group is open, no request but a user change is dispatched
 *      (dispatch_request() flushes first), so nothing is ever answered
 *      from a snapshot holding uncommitted changes.
 *   2. A connection with a held reply is not served further until the
 *      flush (server.c), so its next request sees its change committed.
 *   3. A change that fails is rolled back to its savepoint and its patches
 *      undone to its mark, leaving the group's other changes as they were.
 *   4. Its refusal, made while the group is open, is held like the
 *      group's replies: it may stem from their uncommitted changes.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "manager.h"

typedef struct Step {
        int type;
        const struct cr_record *params;
        struct cr_record owned;       /* params built here (import, profile) */
        char *target_kind, *target_name, *target_account;
        char *before;
        unsigned line;                /* profile line or import entry, for messages */
} Step;

static void step_done(Step *s) {
        cr_record_clear(&s->owned);
        free(s->target_kind);
        free(s->target_name);
        free(s->target_account);
        free(s->before);
}

static const char *account_or_default(const char *a) {
        return isempty(a) ? "default" : a;
}

static int step_target(Step *s) {
        const struct cr_record *p = s->params;
        const char *kind, *name;

        switch (s->type) {
        case CR_MSG_USER_ADD:
        case CR_MSG_USER_SET:
        case CR_MSG_USER_DELETE:
                kind = "user";
                name = cr_record_get(p, "name");
                break;
        case CR_MSG_ROLE_ADD:
        case CR_MSG_ROLE_DELETE:
                kind = "role";
                name = cr_record_get(p, "role");
                break;
        case CR_MSG_ACCOUNT_ADD:
        case CR_MSG_ACCOUNT_SET:
                kind = "account";
                name = cr_record_get(p, "name");
                break;
        case CR_MSG_PERMISSION_ADD:
                kind = "permission";
                name = cr_record_get(p, "name");
                break;
        case CR_MSG_PLAN_SET:
                kind = "plan";
                name = cr_record_get(p, "name");
                break;
        case CR_MSG_RULE_ADD:
                kind = "rule";
                name = cr_record_get(p, "if");
                break;
        default:
                return -EOPNOTSUPP;
        }
        s->target_kind = strdup(kind);
        s->target_name = strdup(name ? name : "");
        s->target_account = strdup(account_or_default(cr_record_get(p, "account")));
        return s->target_kind && s->target_name && s->target_account ? 0 : -ENOMEM;
}

/* What an object looks like in one snapshot, for the audit.  Users and roles
 * are described from the model itself; other objects by the request that
 * made them, since they are only ever added or replaced whole. */
static char *describe(const Snapshot *snap, const Step *s, bool after) {
        if (streq_ptr(s->target_kind, "user"))
                return policy_describe_user(snap, s->target_name);
        if (streq_ptr(s->target_kind, "role"))
                return policy_describe_role(snap, s->target_account, s->target_name);
        if (!after)
                return NULL;
        {
                char *out = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&out, &len);
                if (!f)
                        return NULL;
                for (size_t i = 0; i < s->params->n_fields; i++) {
                        const struct cr_field *fl = &s->params->fields[i];
                        fprintf(f, "%s%s=", i ? " " : "", fl->key);
                        for (size_t j = 0; j < fl->n_values; j++)
                                fprintf(f, "%s%s", j ? "," : "", fl->values[j]);
                }
                if (fclose(f) != 0) {
                        free(out);
                        return NULL;
                }
                return out;
        }
}

/* Import: parallel lists, one user per index.  Every list that is present
 * has one value per user; an empty value means "not given", so the user.add
 * it becomes leaves that field out: for enabled this makes a new user
 * enabled while a user who already exists (a further membership) keeps the
 * state they have, and re-enabling a disabled user always takes an explicit
 * "yes".  groups, ivrs, acg, notify and only hold a comma-separated list per
 * user, since a parallel list cannot nest; they are split into the list
 * fields user.add takes, and the store checks every name and pattern (no
 * name, notify value or pattern can hold a comma, so the split loses
 * nothing).  notify entries are the notifications to switch on, as export
 * writes them; whether the role may have them is policy_validate's
 * question, asked of the whole batch. */
static int expand_import(const struct cr_record *p, Step **steps, size_t *n_steps, char **ret_error) {
        static const struct {
                const char *key;
                bool list;
        } keys[] = {
                { "name", false },    { "role", false },   { "account", false }, { "display-name", false },
                { "enabled", false }, { "groups", true },  { "ivrs", true },     { "acg", true },
                { "notify", true },   { "only", true },
        };
        const struct cr_field *names = cr_record_field(p, "name");
        size_t n;

        if (!names || names->n_values == 0)
                return error_setf(ret_error, -EINVAL, "import: no users given (field 'name' is empty)");
        n = names->n_values;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                const struct cr_field *f = cr_record_field(p, keys[k].key);
                if (f && f->n_values != n)
                        return error_setf(ret_error, -EINVAL,
                                         "import: field '%s' has %zu values but 'name' has %zu; give one per user",
                                         keys[k].key, f->n_values, n);
        }
        for (size_t i = 0; i < p->n_fields; i++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        known = known || streq_ptr(p->fields[i].key, keys[k].key);
                if (!known)
                        return error_setf(ret_error, -EINVAL,
                                         "import: unknown field '%s'; an import carries name, role, account, "
                                         "display-name, enabled, groups, ivrs, acg, notify and only",
                                         p->fields[i].key);
        }
        *steps = calloc(n, sizeof(Step));
        if (!*steps)
                return -ENOMEM;
        *n_steps = n;
        for (size_t i = 0; i < n; i++) {
                Step *s = &(*steps)[i];
                s->type = CR_MSG_USER_ADD;
                s->params = &s->owned;
                s->line = (unsigned) i + 1;
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        const struct cr_field *f = cr_record_field(p, keys[k].key);
                        const char *v = f ? f->values[i] : NULL;
                        int r;
                        if (isempty(v))
                                continue;
                        if (keys[k].list) {
                                _cleanup_free_ char *copy = strdup(v);
                                char *save = NULL;
                                if (!copy)
                                        return -ENOMEM;
                                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                        if ((r = cr_record_add(&s->owned, keys[k].key, t)) < 0)
                                                return r;
                                continue;
                        }
                        if ((r = cr_record_add(&s->owned, keys[k].key, v)) < 0)
                                return r;
                }
        }
        return 0;
}

static int expand_profile(Manager *m, const Peer *peer, const struct cr_record *p, Step **steps, size_t *n_steps,
                          Profile **ret_profile, char **ret_error) {
        const char *name = cr_record_get(p, "name"), *account = account_or_default(cr_record_get(p, "account"));
        struct cr_records perms = {};
        Profile *prof = NULL;
        size_t n = 0;
        int r;

        if (isempty(name) || name_is_valid(name) < 0)
                return error_setf(ret_error, -EINVAL, "profile.load: give a profile name (see 'callrolectl profile list')");
        r = profile_load_file(m->config.profile_dir, name, account, &prof, ret_error);
        if (r < 0)
                return r;
        /* Permissions a profile declares may exist already (built in, or
         * from another profile): declaring them again is not a conflict. */
        r = policy_permission_records(m->snapshot, &perms);
        if (r < 0) {
                profile_free(prof);
                return r;
        }
        *steps = calloc(prof->n_changes ? prof->n_changes : 1, sizeof(Step));
        if (!*steps) {
                cr_records_clear(&perms);
                profile_free(prof);
                return -ENOMEM;
        }
        for (size_t i = 0; i < prof->n_changes; i++) {
                ProfileChange *c = &prof->changes[i];
                bool exists = false;
                if (c->type == CR_MSG_PERMISSION_ADD)
                        for (size_t j = 0; j < perms.n && !exists; j++)
                                exists = streq_ptr(cr_record_get(&perms.items[j], "name"), cr_record_get(&c->params, "name"));
                if (exists)
                        continue;
                (*steps)[n].type = c->type;
                (*steps)[n].params = &c->params;
                (*steps)[n].line = c->line;
                n++;
        }
        cr_records_clear(&perms);
        *n_steps = n;
        *ret_profile = prof;
        return 0;
}

/* Say which entry of a bulk change failed. */
static void annotate_error(int type, const Step *s, int r, char **ret_error) {
        _cleanup_free_ char *inner = NULL;

        if (!ret_error || (type != CR_MSG_IMPORT && type != CR_MSG_PROFILE_LOAD))
                return;
        inner = TAKE_PTR(*ret_error);
        if (type == CR_MSG_IMPORT)
                error_setf(ret_error, r, "import entry %u (user '%s'): %s; nothing of this batch was imported", s->line,
                          s->target_name, inner ? inner : strerror(-r));
        else
                error_setf(ret_error, r, "profile line %u: %s; nothing of the profile was loaded", s->line,
                          inner ? inner : strerror(-r));
}

/* Step 5: an audit record per step and the effect the reply lists, as the
 * snapshot after the change describes each object. */
static int audit_steps(Manager *m, const Peer *peer, Step *steps, size_t n_steps, const Snapshot *after_snap,
                       bool dry_run, struct cr_records *effect, char **ret_error) {
        int r;

        for (size_t i = 0; i < n_steps; i++) {
                Step *s = &steps[i];
                _cleanup_free_ char *after = describe(after_snap, s, true), *target = NULL;
                struct cr_record *rec;

                if (asprintf(&target, "%s %s%s%s", s->target_kind,
                             streq_ptr(s->target_kind, "role") || streq_ptr(s->target_kind, "rule") ? s->target_account : "",
                             streq_ptr(s->target_kind, "role") || streq_ptr(s->target_kind, "rule") ? "/" : "",
                             s->target_name) < 0) {
                        target = NULL;
                        return -ENOMEM;
                }
                AuditEntry e = {
                        .peer_uid = peer->uid,
                        /* Acting --as, the peer is an administrator known by its
                         * Unix name; the audit keeps both identities. */
                        .peer_user = peer->as_user || peer->admin ? peer->unix_name : peer->user,
                        .as_user = peer->as_user,
                        .action = cr_msg_type_to_string(s->type),
                        .target = target,
                        .before = s->before,
                        .after = after,
                };
                r = store_audit_append(m->store, &e, ret_error);
                if (r < 0)
                        return r;
                rec = cr_records_append(effect);
                if (!rec)
                        return -ENOMEM;
                if ((r = cr_record_add(rec, "action", e.action)) < 0 || (r = cr_record_add(rec, "target", target)) < 0 ||
                    (r = cr_record_add(rec, "before", s->before ? s->before : "")) < 0 ||
                    (r = cr_record_add(rec, "after", after ? after : "")) < 0 ||
                    (r = cr_record_add(rec, "dry-run", dry_run ? "yes" : "no")) < 0)
                        return r;
        }
        return 0;
}

static bool is_user_change(int type) {
        return type == CR_MSG_USER_ADD || type == CR_MSG_USER_SET || type == CR_MSG_USER_DELETE || type == CR_MSG_IMPORT;
}

struct GroupMember {
        Connection *conn;
        char *what;             /* the log line, written once committed */
        bool refused;           /* its reply is a refusal, held all the same */
};

void manager_group_forget(Manager *m, Connection *c) {
        for (size_t i = 0; i < m->n_group; i++)
                if (m->group[i].conn == c)
                        m->group[i].conn = NULL;
}

void manager_group_done(Manager *m) {
        for (size_t i = 0; i < m->n_group; i++)
                free(m->group[i].what);
        free(m->group);
        m->group = NULL;
        m->n_group = m->group_cap = 0;
        snapshot_undo_done(&m->undo);
}

static int group_reserve(Manager *m) {
        struct GroupMember *g;
        size_t cap;

        if (m->n_group < m->group_cap)
                return 0;
        cap = m->group_cap ? m->group_cap * 2 : 16;
        g = realloc(m->group, cap * sizeof(*g));
        if (!g)
                return -ENOMEM;
        m->group = g;
        m->group_cap = cap;
        return 0;
}

/* Owns its messages by hand: GCC 12's analyzer takes cleanup-attributed
 * locals for uninitialised on the early returns of this function. */
int manager_group_flush(Manager *m) {
        char *err = NULL, *message = NULL;
        size_t n = m->n_group;
        int r = 0;

        if (!m->group_open)
                return 0;
        m->group_open = false;
        (void) sd_event_source_set_enabled(m->group_source, SD_EVENT_OFF);
        if (n == 0) {
                /* Every change of the group failed and was rolled back. */
                (void) store_rollback(m->store);
                snapshot_undo(m->snapshot, &m->undo, 0);
                return 0;
        }
        r = store_commit(m->store, &err);
        if (r < 0) {
                snapshot_undo(m->snapshot, &m->undo, 0);
                log_error_errno(r, "%zu change(s) could not be committed and were taken back: %s", n,
                                err ? err : strerror(-r));
                if (asprintf(&message, "the change was not saved (%s); nothing of it is in effect: fix the cause "
                                       "and make it again",
                             err ? err : strerror(-r)) < 0)
                        message = NULL;
        } else
                snapshot_undo_forget(&m->undo);
        m->n_group = 0;
        for (size_t i = 0; i < n; i++) {
                if (r >= 0 && !m->group[i].refused) {
                        m->changes++;
                        if (m->group[i].what)   /* a group of one logs for itself */
                                log_info("%s", m->group[i].what);
                }
                if (m->group[i].conn)
                        server_release_reply(m->group[i].conn, r, message);
                free(m->group[i].what);
        }
        free(err);
        free(message);
        if (r >= 0 && snapshot_wants_compile(m->snapshot)) {
                _cleanup_free_ char *cerr = NULL;
                /* Patches have left enough garbage: start afresh from the
                 * store, which holds exactly what was just committed. */
                int k = manager_compile_from_store(m, false, &cerr);
                if (k < 0)
                        log_warning_errno(k, "cannot compile the role model again (%s); going on with the patched one",
                                          cerr ? cerr : strerror(-k));
        }
        manager_notify_status(m);
        return r;
}

/* BEGIN, once the file is known to be the one opened and writable, so a
 * change is refused with the cause rather than failing half-way. */
static int begin_writing(Manager *m, char **ret_error) {
        int r;

        if (manager_db_replaced(m))
                return error_setf(ret_error, -EROFS,
                                  "%s was moved or replaced while callroled had it open; nothing was changed: "
                                  "restart callroled to use the file now at that path",
                                  m->config.db_path);
        r = store_check_writable(m->store, ret_error);
        if (r < 0)
                return r;
        return store_begin(m->store, ret_error);
}

/* Steps 2-5 for user changes: patched in, validated per user; joined to the
 * group, or for a dry run rolled back at once. */
static int apply_user_steps(Manager *m, int type, const Peer *peer, Step *steps, size_t n_steps, bool dry_run,
                            struct cr_records *effect, char **ret_error) {
        _cleanup_free_ char **names = NULL;   /* the steps' names, not owned */
        bool held_changed = false, own_tx = false, in_change = false;
        size_t mark;
        int r;

        if (dry_run)
                /* A dry run answers from what is committed. */
                (void) manager_group_flush(m);
        /* After the flush, which may have forgotten the log. */
        mark = snapshot_undo_mark(&m->undo);
        names = calloc(n_steps + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        if (dry_run || !m->group_open) {
                r = begin_writing(m, ret_error);
                if (r < 0)
                        return r;
                if (dry_run)
                        own_tx = true;
                else {
                        m->group_open = true;
                        /* Committed at the end of this round of the loop
                         * at the latest (manager_run()). */
                        (void) sd_event_source_set_enabled(m->group_source, SD_EVENT_ONESHOT);
                }
        }
        if (!dry_run && (r = group_reserve(m)) < 0)
                goto fail;
        r = store_change_begin(m->store, ret_error);
        if (r < 0)
                goto fail;
        in_change = true;
        for (size_t i = 0; i < n_steps; i++) {
                ModelUser *mu = NULL;
                bool hc = false;

                r = store_apply(m->store, steps[i].type, steps[i].params, ret_error);
                if (r < 0) {
                        annotate_error(type, &steps[i], r, ret_error);
                        goto undo;
                }
                r = store_load_user(m->store, steps[i].target_name, &mu, ret_error);
                if (r >= 0)
                        r = snapshot_patch_user(&m->snapshot, steps[i].target_name, mu, &m->undo, &hc);
                model_user_free(mu);
                if (r < 0) {
                        if (ret_error && !*ret_error)
                                error_setf(ret_error, r, "the change leaves the role model inconsistent (%s); nothing "
                                          "was changed", strerror(-r));
                        goto undo;
                }
                held_changed = held_changed || hc;
                names[i] = steps[i].target_name;
        }
        r = snapshot_set_generation(m->snapshot, snapshot_generation(m->snapshot) + 1, &m->undo);
        if (r >= 0)
                r = policy_validate_users(m->snapshot, names, held_changed, ret_error);
        if (r >= 0)
                r = audit_steps(m, peer, steps, n_steps, m->snapshot, dry_run, effect, ret_error);
        if (r < 0 || dry_run)
                goto undo;
        r = store_change_end(m->store, true, ret_error);
        if (r < 0)
                goto undo;
        return 0;

undo:
        /* Invariant 3. */
        if (in_change)
                (void) store_change_end(m->store, false, NULL);
        snapshot_undo(m->snapshot, &m->undo, mark);
        if (own_tx)
                (void) store_rollback(m->store);
        return r < 0 ? r : 0;
fail:
        if (own_tx)
                (void) store_rollback(m->store);
        return r;
}

/* Steps 2-6 for structural changes: the whole model compiled again. */
static int apply_structural_steps(Manager *m, int type, const Peer *peer, Step *steps, size_t n_steps,
                                  bool dry_run, struct cr_records *effect, char **ret_error) {
        Model *model = NULL;
        Snapshot *next = NULL;
        bool in_tx = false;
        int r;

        r = begin_writing(m, ret_error);
        if (r < 0)
                goto finish;
        in_tx = true;
        for (size_t i = 0; i < n_steps; i++) {
                r = store_apply(m->store, steps[i].type, steps[i].params, ret_error);
                if (r < 0) {
                        annotate_error(type, &steps[i], r, ret_error);
                        goto finish;
                }
        }
        r = store_load(m->store, &model, ret_error);
        if (r < 0)
                goto finish;
        r = snapshot_compile(model, snapshot_generation(m->snapshot) + 1, &next);
        if (r < 0) {
                error_setf(ret_error, r, "the change leaves the role model inconsistent (%s); nothing was changed",
                          strerror(-r));
                goto finish;
        }
        r = policy_validate(next, ret_error);
        if (r < 0)
                goto finish;
        r = audit_steps(m, peer, steps, n_steps, next, dry_run, effect, ret_error);
        if (r < 0)
                goto finish;

        if (dry_run) {
                (void) store_rollback(m->store);
                in_tx = false;
        } else {
                r = store_commit(m->store, ret_error);
                in_tx = false;
                if (r < 0)
                        goto finish;
                snapshot_free(m->snapshot);
                m->snapshot = TAKE_PTR(next);
                m->changes++;
        }
        r = 0;

finish:
        if (in_tx)
                (void) store_rollback(m->store);
        snapshot_free(next);
        model_free(model);
        return r;
}

int manager_apply_change(Manager *m, const Peer *peer, int type, const struct cr_record *params, bool dry_run,
                         Connection *connection, bool *ret_held, struct cr_records *ret_effect, char **ret_error) {
        Step one = {}, *steps = NULL;
        size_t n_steps = 0;
        Profile *prof = NULL;
        struct cr_records effect = {};
        const char *what = cr_msg_type_to_string(type);
        bool grouped = is_user_change(type) && connection && !dry_run;
        int r;

        *ret_held = false;
        /* Invariant 1: only user changes join a group. */
        if (!is_user_change(type))
                manager_group_flush(m);
        if (type == CR_MSG_IMPORT) {
                r = expand_import(params, &steps, &n_steps, ret_error);
        } else if (type == CR_MSG_PROFILE_LOAD) {
                if (!peer->admin)
                        r = error_setf(ret_error, -EPERM, "only callrole administrators may load profiles");
                else
                        r = expand_profile(m, peer, params, &steps, &n_steps, &prof, ret_error);
        } else {
                one.type = type;
                one.params = params;
                steps = &one;
                n_steps = 1;
                r = 0;
        }
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < n_steps; i++) {
                Step *s = &steps[i];
                r = step_target(s);
                if (r < 0)
                        goto finish;
                if (type != CR_MSG_PROFILE_LOAD) {
                        r = policy_authorize(m->snapshot, peer, s->type, s->params, ret_error);
                        if (r < 0) {
                                annotate_error(type, s, r, ret_error);
                                goto finish;
                        }
                }
                s->before = describe(m->snapshot, s, false);
        }

        if (is_user_change(type)) {
                if (!grouped)
                        /* Not through a connection (no reply to hold): alone. */
                        (void) manager_group_flush(m);
                r = apply_user_steps(m, type, peer, steps, n_steps, dry_run, &effect, ret_error);
                if (r >= 0 && !grouped && !dry_run) {
                        /* A group of one, committed before we answer
                         * (apply_user_steps() reserved its place). */
                        m->group[m->n_group++] = (struct GroupMember) { .conn = NULL };
                        r = manager_group_flush(m);
                        if (r < 0)
                                error_setf(ret_error, r, "the change was not saved (%s); nothing of it is in effect",
                                           strerror(-r));
                }
        } else
                r = apply_structural_steps(m, type, peer, steps, n_steps, dry_run, &effect, ret_error);
        if (r < 0)
                goto finish;

        if (!dry_run) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "%s by uid %u%s%s: %zu object(s) changed", what, (unsigned) peer->uid,
                             peer->as_user ? " as " : "", peer->as_user ? peer->as_user : "", effect.n) < 0)
                        line = NULL;
                if (grouped) {
                        /* Logged when committed (manager_group_flush()). */
                        m->group[m->n_group++] = (struct GroupMember) { .conn = connection, .what = TAKE_PTR(line) };
                        *ret_held = true;
                } else
                        log_info("%s", line ? line : what);
        }
        *ret_effect = effect;
        effect = (struct cr_records) {};
        r = 0;

finish:
        /* A refusal made while the group is open may stem from its other,
         * uncommitted changes (the user added by another connection, the
         * seat it took): held like their replies, it is sent only once they
         * are committed, and replaced by the error if they are not. */
        if (r < 0 && r != -EBADMSG && grouped && m->group_open && group_reserve(m) >= 0) {
                m->group[m->n_group++] = (struct GroupMember) { .conn = connection, .refused = true };
                *ret_held = true;
        }
        cr_records_clear(&effect);
        for (size_t i = 0; i < n_steps; i++)
                step_done(&steps[i]);
        if (steps != &one)
                free(steps);
        profile_free(prof);
        return r;
}
