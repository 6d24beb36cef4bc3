/*
 * manager.c: the Manager's life: configuration, opening the store and
 * compiling the first snapshot, the event loop with its signals, systemd
 * notifications, reload and shutdown.
 *
 * Start-up order matters: the database is opened and the policy compiled
 * before the socket is watched and before READY=1, so a client that gets
 * through always meets a daemon that can answer, and a database that
 * cannot be read stops the daemon before it serves anyone.
 */
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "manager.h"

#define CONFIG_FILE_MAX (64u * 1024u)
#define STATUS_INTERVAL_USEC (30ULL * 1000000ULL)

static uint64_t monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int manager_new(Manager **ret) {
        Manager *m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->listen_fd = -1;
        m->config.query_gid = (gid_t) -1;
        m->config.max_connections = MANAGER_CONNECTIONS_MAX_DEFAULT;
        m->config.max_connections_per_uid = MANAGER_CONNECTIONS_PER_UID_MAX_DEFAULT;
        m->config.idle_timeout_usec = MANAGER_IDLE_TIMEOUT_USEC_DEFAULT;
        m->config.io_timeout_usec = MANAGER_IO_TIMEOUT_USEC_DEFAULT;
        m->config.log_level = LOG_INFO;
        m->started_usec = monotonic_usec();
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_group_flush(m);
        server_close_all(m);
        sd_event_source_disable_unref(m->group_source);
        manager_group_done(m);
        sd_event_unref(m->event);
        snapshot_free(m->snapshot);
        store_free(m->store);
        free(m->config.socket_path);
        free(m->config.db_path);
        free(m->config.profile_dir);
        free(m->config.config_path);
        free(m->config.query_group);
        free(m);
        return NULL;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret) {
        char *end;
        unsigned long long v;
        if (isempty(s) || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int manager_parse_uid(const char *s, uid_t *ret) {
        unsigned long long v;
        char buf[4096];
        struct passwd pw, *res = NULL;

        if (parse_uint(s, (uid_t) -2, &v) >= 0) {
                *ret = (uid_t) v;
                return 0;
        }
        if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return -ESRCH;
        *ret = res->pw_uid;
        return 0;
}

static int resolve_query_group(Manager *m) {
        char buf[4096];
        struct group gr, *res = NULL;
        unsigned long long v;

        m->config.query_gid = (gid_t) -1;
        if (isempty(m->config.query_group))
                return 0;
        if (parse_uint(m->config.query_group, (gid_t) -2, &v) >= 0) {
                m->config.query_gid = (gid_t) v;
                return 0;
        }
        if (getgrnam_r(m->config.query_group, &gr, buf, sizeof(buf), &res) != 0 || !res)
                return log_error_errno(ESRCH, "query group '%s' does not exist; create it or fix query-group=",
                                       m->config.query_group);
        m->config.query_gid = res->gr_gid;
        return 0;
}

static int config_apply(Manager *m, const char *key, const char *value, unsigned line) {
        unsigned long long v;
        int r;

        if (strcmp(key, "admin-uid") == 0) {
                uid_t uid;
                if (m->config.n_admin_uids >= MANAGER_ADMIN_UIDS_MAX)
                        return log_error_errno(E2BIG, "%s:%u: more than %d admin-uid entries", m->config.config_path,
                                               line, MANAGER_ADMIN_UIDS_MAX);
                if (manager_parse_uid(value, &uid) < 0)
                        return log_error_errno(EINVAL, "%s:%u: admin-uid '%s' is neither a uid nor a user",
                                               m->config.config_path, line, value);
                m->config.admin_uids[m->config.n_admin_uids++] = uid;
        } else if (strcmp(key, "query-group") == 0) {
                char *s = strdup(value);
                if (!s)
                        return -ENOMEM;
                free(m->config.query_group);
                m->config.query_group = s;
        } else if (strcmp(key, "max-connections") == 0 || strcmp(key, "max-connections-per-uid") == 0) {
                if (parse_uint(value, 1000000, &v) < 0 || v == 0)
                        return log_error_errno(EINVAL, "%s:%u: %s must be a number from 1 to 1000000",
                                               m->config.config_path, line, key);
                if (key[15] == 0)
                        m->config.max_connections = (unsigned) v;
                else
                        m->config.max_connections_per_uid = (unsigned) v;
        } else if (strcmp(key, "idle-timeout-sec") == 0 || strcmp(key, "io-timeout-sec") == 0) {
                if (parse_uint(value, 86400, &v) < 0 || v == 0)
                        return log_error_errno(EINVAL, "%s:%u: %s must be seconds from 1 to 86400",
                                               m->config.config_path, line, key);
                if (key[0] == 'i' && key[1] == 'd')
                        m->config.idle_timeout_usec = v * 1000000ULL;
                else
                        m->config.io_timeout_usec = v * 1000000ULL;
        } else if (strcmp(key, "log-level") == 0) {
                r = log_level_from_string(value);
                if (r < 0)
                        return log_error_errno(EINVAL, "%s:%u: unknown log-level '%s' (use err, warning, notice, info "
                                               "or debug)", m->config.config_path, line, value);
                m->config.log_level = r;
                log_set_max_level(r);
        } else
                return log_error_errno(EINVAL, "%s:%u: unknown setting '%s'", m->config.config_path, line, key);
        return 0;
}

/* Reads KEY = VALUE lines.  On reload a broken file keeps the old
 * configuration: it is checked whole before anything is applied. */
int manager_load_config(Manager *m, bool initial) {
        _cleanup_free_ char *text = NULL;
        FILE *f;
        size_t len;
        unsigned line = 0;
        Config saved = m->config;
        int r = 0;

        if (isempty(m->config.config_path))
                return resolve_query_group(m);
        f = fopen(m->config.config_path, "re");
        if (!f) {
                if (errno == ENOENT && !initial)
                        return 0;
                return log_error_errno(errno, "cannot read configuration %s: %m", m->config.config_path);
        }
        text = calloc(1, CONFIG_FILE_MAX + 1);
        if (!text) {
                fclose(f);
                return -ENOMEM;
        }
        len = fread(text, 1, CONFIG_FILE_MAX + 1, f);
        fclose(f);
        if (len > CONFIG_FILE_MAX)
                return log_error_errno(EFBIG, "configuration %s is larger than %u bytes", m->config.config_path,
                                       CONFIG_FILE_MAX);
        if (memchr(text, 0, len))
                return log_error_errno(EINVAL, "configuration %s contains a NUL byte", m->config.config_path);

        /* Entries from the command line stay; the file's are read anew. */
        m->config.n_admin_uids = m->config.n_admin_uids_cmdline;
        if (m->config.query_group)
                m->config.query_group = strdup(m->config.query_group);
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *eq, *k, *v, *e;
                line++;
                while (*l == ' ' || *l == '\t')
                        l++;
                if (!*l || *l == '#')
                        continue;
                eq = strchr(l, '=');
                if (!eq) {
                        r = log_error_errno(EINVAL, "%s:%u: expected KEY = VALUE", m->config.config_path, line);
                        break;
                }
                *eq = 0;
                k = l;
                v = eq + 1;
                for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
                        e[-1] = 0;
                while (*v == ' ' || *v == '\t')
                        v++;
                for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'); e--)
                        e[-1] = 0;
                r = config_apply(m, k, v, line);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = resolve_query_group(m);
        if (r < 0) {
                free(m->config.query_group);
                m->config = saved;
                log_set_max_level(saved.log_level);
                return r;
        }
        free(saved.query_group);
        return 0;
}

/* A loaded model is millions of small allocations when the database is
 * large, all freed at once once it is compiled; glibc keeps those pages in
 * the heap unless asked, so a daemon that loaded a million users would
 * stay at twice the memory its snapshot needs. */
static void model_release(Model *model) {
        model_free(model);
        (void) malloc_trim(0);
}

static int open_and_compile(const char *db_path, uint64_t generation, Store **ret_store, Snapshot **ret_snapshot) {
        _cleanup_free_ char *err = NULL;
        Store *store = NULL;
        Model *model = NULL;
        Snapshot *snap = NULL;
        int r;

        r = store_open(db_path, &store, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err ? err : "cannot open the database");
        r = store_load(store, &model, &err);
        if (r < 0) {
                store_free(store);
                return log_error_errno(r, "%s", err ? err : "cannot read the database");
        }
        r = snapshot_compile(model, generation, &snap);
        model_release(model);
        if (r < 0) {
                store_free(store);
                return log_error_errno(r, "the role model in %s is inconsistent and cannot be compiled: %m", db_path);
        }
        *ret_store = store;
        *ret_snapshot = snap;
        return 0;
}

void manager_notify_status(Manager *m) {
        (void) sd_notifyf(false,
                          "STATUS=Serving %zu users, %zu roles in %zu accounts; %llu requests, %llu changes, "
                          "%u connections",
                          snapshot_n_users(m->snapshot), snapshot_n_roles(m->snapshot),
                          snapshot_n_accounts(m->snapshot), (unsigned long long) m->requests,
                          (unsigned long long) m->changes, m->n_connections);
}

/* SIGHUP: re-read the configuration and reopen the database.  Either step
 * failing keeps what was running, so a bad edit cannot take the daemon
 * down. */
/* Which file the open store is, so that a database replaced behind our
 * back is noticed (see manager_db_replaced()). */
static void remember_db_file(Manager *m) {
        struct stat st;
        if (stat(m->config.db_path, &st) >= 0) {
                m->db_dev = st.st_dev;
                m->db_ino = st.st_ino;
        }
}

int manager_open_store(Manager *m) {
        int r = open_and_compile(m->config.db_path, 1, &m->store, &m->snapshot);
        if (r >= 0)
                remember_db_file(m);
        return r;
}

/* A database file that was moved away or replaced (a backup restored with
 * mv) while we hold it open cannot be switched to safely: SQLite names its
 * WAL after the path, so two files would share one log.  Changes written to
 * the old, unlinked file would be lost, so they are refused instead, and the
 * administrator is told to restart. */
bool manager_db_replaced(Manager *m) {
        struct stat st;
        if (stat(m->config.db_path, &st) < 0)
                return true;
        return st.st_dev != m->db_dev || st.st_ino != m->db_ino;
}

/* SIGHUP: re-read the configuration and the database through the open
 * handle (it holds the file's lock exclusively, so a second handle could
 * not open it).  Either step failing keeps what was running. */
int manager_compile_from_store(Manager *m, bool bump, char **ret_error) {
        Snapshot *snap = NULL;
        Model *model = NULL;
        int r;

        r = store_load(m->store, &model, ret_error);
        if (r >= 0)
                r = snapshot_compile(model, snapshot_generation(m->snapshot) + (bump ? 1 : 0), &snap);
        model_release(model);
        if (r < 0)
                return r;
        snapshot_free(m->snapshot);
        m->snapshot = snap;
        return 0;
}

int manager_reload(Manager *m) {
        _cleanup_free_ char *err = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading configuration and database");
        manager_group_flush(m);
        r = manager_load_config(m, false);
        if (r < 0)
                log_warning("reload: keeping the previous configuration");

        if (manager_db_replaced(m))
                log_error("%s was moved or replaced while callroled had it open; changes are refused until "
                          "callroled is restarted (stop it before restoring a database)",
                          m->config.db_path);
        /* Generations only grow, so a reader can tell a reload happened. */
        r = manager_compile_from_store(m, true, &err);
        if (r < 0)
                log_warning_errno(r, "reload: cannot read %s again (%s); keeping the policy in force",
                                  m->config.db_path, err ? err : strerror(-r));
        else
                log_info("reloaded %s: %zu users, %zu roles", m->config.db_path, snapshot_n_users(m->snapshot),
                         snapshot_n_roles(m->snapshot));
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("SIGHUP: reloading");
                (void) manager_reload(m);
                return 0;
        }
        log_info("%s: answering what was already received, then stopping", strsignal((int) si->ssi_signo));
        manager_group_flush(m);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        m->exiting = true;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_round_end(sd_event_source *s, void *userdata) {
        manager_group_flush(userdata);
        return 0;
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        manager_notify_status(m);
        (void) sd_event_source_set_time(s, usec + STATUS_INTERVAL_USEC);
        return 0;
}

int manager_run(Manager *m) {
        sigset_t mask;
        int r;

        /* A loop of our own, not sd_event_default(): the default loop
         * checks gettid() on every iteration, a system call per request. */
        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop: %m");
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "cannot block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);
        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_signal, m)) < 0)
                return log_error_errno(r, "cannot watch signals: %m");
        /* Pings the watchdog when the unit sets WatchdogSec=. */
        (void) sd_event_set_watchdog(m->event, true);
        r = sd_event_add_time_relative(m->event, NULL, CLOCK_MONOTONIC, STATUS_INTERVAL_USEC, 0, on_status_timer, m);
        if (r < 0)
                return log_error_errno(r, "cannot add the status timer: %m");

        r = manager_start(m);
        if (r < 0)
                return r;
        /* Group commit: once every source with something to do in this
         * round of the loop had its turn, the changes they made are
         * committed.  A defer source of the lowest priority, turned on
         * (once) when a group opens (change.c): a post source would cost
         * every round an epoll_wait() even with no group open. */
        r = sd_event_add_defer(m->event, &m->group_source, on_round_end, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->group_source, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->group_source, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "cannot add the group commit source: %m");
        log_info("callroled %s serving %s (database %s): %zu users, %zu roles, %zu accounts", CALLROLE_VERSION,
                 m->listen_fd_from_systemd ? "the socket passed by systemd" : m->config.socket_path,
                 m->config.db_path, snapshot_n_users(m->snapshot), snapshot_n_roles(m->snapshot),
                 snapshot_n_accounts(m->snapshot));
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);

        r = sd_event_loop(m->event);
        server_close_all(m);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %m");
        return 0;
}
