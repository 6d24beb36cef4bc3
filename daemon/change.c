/*
 * change.c: the one path every change takes.
 *
 *   1. authorise each step against the current snapshot (policy_authorize);
 *   2. BEGIN; apply each step to the store;
 *   3. load the model as the transaction sees it and compile a new snapshot;
 *   4. validate the whole new model (role rules, seats...);
 *   5. write an audit record per step, inside the same transaction;
 *   6. COMMIT (or ROLLBACK for a dry run or any failure);
 *   7. only after a successful COMMIT, publish the new snapshot.
 *
 * So a change is on disk before it is acknowledged and is seen by the very
 * next check, a refused change leaves no trace, and the snapshot is always
 * exactly what the database holds.  Rebuilding the snapshot costs O(size of
 * the model) per change request, which is why bulk imports come in batches.
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

int manager_apply_change(Manager *m, const Peer *peer, int type, const struct cr_record *params, bool dry_run,
                         struct cr_records *ret_effect, char **ret_error) {
        Step one = {}, *steps = NULL;
        size_t n_steps = 0;
        Profile *prof = NULL;
        Model *model = NULL;
        Snapshot *next = NULL;
        struct cr_records effect = {};
        bool in_tx = false;
        const char *what = cr_msg_type_to_string(type);
        int r;

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

        if (manager_db_replaced(m)) {
                r = error_setf(ret_error, -EROFS,
                               "%s was moved or replaced while callroled had it open; nothing was changed: "
                               "restart callroled to use the file now at that path",
                               m->config.db_path);
                goto finish;
        }
        r = store_check_writable(m->store, ret_error);
        if (r < 0)
                goto finish;
        r = store_begin(m->store, ret_error);
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

        for (size_t i = 0; i < n_steps; i++) {
                Step *s = &steps[i];
                _cleanup_free_ char *after = describe(next, s, true), *target = NULL;
                struct cr_record *rec;

                if (asprintf(&target, "%s %s%s%s", s->target_kind,
                             streq_ptr(s->target_kind, "role") || streq_ptr(s->target_kind, "rule") ? s->target_account : "",
                             streq_ptr(s->target_kind, "role") || streq_ptr(s->target_kind, "rule") ? "/" : "",
                             s->target_name) < 0) {
                        target = NULL;
                        r = -ENOMEM;
                        goto finish;
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
                        goto finish;
                rec = cr_records_append(&effect);
                if (!rec) {
                        r = -ENOMEM;
                        goto finish;
                }
                if ((r = cr_record_add(rec, "action", e.action)) < 0 || (r = cr_record_add(rec, "target", target)) < 0 ||
                    (r = cr_record_add(rec, "before", s->before ? s->before : "")) < 0 ||
                    (r = cr_record_add(rec, "after", after ? after : "")) < 0 ||
                    (r = cr_record_add(rec, "dry-run", dry_run ? "yes" : "no")) < 0)
                        goto finish;
        }

        if (dry_run) {
                (void) store_rollback(m->store);
                in_tx = false;
        } else {
                r = store_commit(m->store, ret_error);
                in_tx = false;
                if (r < 0) {
                        (void) store_rollback(m->store);
                        goto finish;
                }
                snapshot_free(m->snapshot);
                m->snapshot = TAKE_PTR(next);
                m->changes++;
                log_info("%s by uid %u%s%s%s: %zu object(s) changed", what, (unsigned) peer->uid,
                         peer->as_user ? " as " : "", peer->as_user ? peer->as_user : "", "", effect.n);
        }
        *ret_effect = effect;
        effect = (struct cr_records) {};
        r = 0;

finish:
        if (in_tx)
                (void) store_rollback(m->store);
        cr_records_clear(&effect);
        snapshot_free(next);
        model_free(model);
        for (size_t i = 0; i < n_steps; i++)
                step_done(&steps[i]);
        if (steps != &one)
                free(steps);
        profile_free(prof);
        return r;
}
