/*
 * main.c: callroled's entry point.  Parses the command line and hands over
 * to the Manager; all state lives there.
 */
#include <getopt.h>
#include <stdio.h>

#include "callrole.h"
#include "config.h"
#include "log.h"
#include "manager.h"

#define DB_DEFAULT "/var/lib/callrole/roles.db"
#define PROFILE_DIR_DEFAULT CALLROLE_DATADIR "/profiles"

static void help(void) {
        printf("Usage: callroled [OPTIONS]\n\n"
               "The callrole daemon: owns the role database and answers over a Unix socket.\n\n"
               "  --socket PATH        listen here when systemd passes no socket (default %s)\n"
               "  --db PATH            role database (default %s)\n"
               "  --config FILE        read settings from FILE (re-read on SIGHUP)\n"
               "  --admin-uid UID      also trust UID (or user name) as an administrator; repeatable\n"
               "  --query-group GROUP  members of GROUP may query any user\n"
               "  --profile-dir DIR    where profiles are found (default %s)\n"
               "  --log-level LEVEL    err, warning, notice, info (default) or debug\n"
               "  --foreground         log to stderr even under systemd (callroled never forks)\n"
               "  --help, --version\n",
               CALLROLE_SOCKET_DEFAULT, DB_DEFAULT, PROFILE_DIR_DEFAULT);
}

static int set_string(char **dst, const char *v) {
        char *s = strdup(v);
        if (!s)
                return -ENOMEM;
        free(*dst);
        *dst = s;
        return 0;
}

static int parse_argv(Manager *m, int argc, char **argv, bool *ret_foreground) {
        enum { ARG_SOCKET = 0x100, ARG_DB, ARG_CONFIG, ARG_ADMIN, ARG_QUERY, ARG_PROFILES, ARG_LOG, ARG_FG, ARG_VERSION };
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "db", required_argument, NULL, ARG_DB },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "admin-uid", required_argument, NULL, ARG_ADMIN },
                { "query-group", required_argument, NULL, ARG_QUERY },
                { "profile-dir", required_argument, NULL, ARG_PROFILES },
                { "log-level", required_argument, NULL, ARG_LOG },
                { "foreground", no_argument, NULL, ARG_FG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case ARG_SOCKET:
                        r = set_string(&m->config.socket_path, optarg);
                        break;
                case ARG_DB:
                        r = set_string(&m->config.db_path, optarg);
                        break;
                case ARG_CONFIG:
                        r = set_string(&m->config.config_path, optarg);
                        break;
                case ARG_QUERY:
                        r = set_string(&m->config.query_group, optarg);
                        break;
                case ARG_PROFILES:
                        r = set_string(&m->config.profile_dir, optarg);
                        break;
                case ARG_ADMIN: {
                        uid_t uid;
                        if (m->config.n_admin_uids >= MANAGER_ADMIN_UIDS_MAX) {
                                fprintf(stderr, "callroled: at most %d --admin-uid\n", MANAGER_ADMIN_UIDS_MAX);
                                return -E2BIG;
                        }
                        if (manager_parse_uid(optarg, &uid) < 0) {
                                fprintf(stderr, "callroled: --admin-uid %s: neither a uid nor a known user\n", optarg);
                                return -EINVAL;
                        }
                        m->config.admin_uids[m->config.n_admin_uids++] = uid;
                        m->config.n_admin_uids_cmdline = m->config.n_admin_uids;
                        break;
                }
                case ARG_LOG:
                        r = log_level_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "callroled: --log-level %s: use err, warning, notice, info or debug\n",
                                        optarg);
                                return r;
                        }
                        m->config.log_level = r;
                        log_set_max_level(r);
                        r = 0;
                        break;
                case ARG_FG:
                        *ret_foreground = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("callroled %s\n", CALLROLE_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "callroled: see 'callroled --help'\n");
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "callroled: unexpected argument '%s'; see 'callroled --help'\n", argv[optind]);
                return -EINVAL;
        }
        if ((!m->config.socket_path && (r = set_string(&m->config.socket_path, CALLROLE_SOCKET_DEFAULT)) < 0) ||
            (!m->config.db_path && (r = set_string(&m->config.db_path, DB_DEFAULT)) < 0) ||
            (!m->config.profile_dir && (r = set_string(&m->config.profile_dir, PROFILE_DIR_DEFAULT)) < 0))
                return r;
        return 1;
}

static int run(int argc, char **argv) {
        Manager *m = NULL;
        bool foreground = false;
        int r;

        r = manager_new(&m);
        if (r < 0)
                return r;
        r = parse_argv(m, argc, argv, &foreground);
        if (r <= 0)
                goto finish;
        log_setup(foreground);
        r = manager_load_config(m, true);
        if (r < 0)
                goto finish;
        r = manager_open_store(m);
        if (r < 0)
                goto finish;
        r = manager_run(m);
finish:
        manager_free(m);
        return r;
}

int main(int argc, char **argv) {
        int r = run(argc, argv);
        return r < 0 ? 1 : 0;
}
