/*
 * Command line: run the daemon, check a config, dry-run the router or
 * print the audit log.
 */
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "app.h"
#include "audit_cmd.h"
#include "config.h"
#include "log.h"
#include "route_cmd.h"
#include "router.h"
#include "state_cmd.h"
#include "status_cmd.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/switchboard/switchboard.conf"

static void
usage(FILE *out)
{
	fprintf(out,
"usage: switchboard [-nvVh] [-c FILE] [-s DIR]\n"
"       switchboard route [-c FILE] RECORDED.jsonl\n"
"       switchboard audit [-c FILE] [-s DIR] [-n N] [--since YYYY-MM-DD]\n"
"       switchboard outbox list|retry|drop [-c FILE] [-s DIR] ...\n"
"       switchboard conversations list|show [-c FILE] [-s DIR] ...\n"
"       switchboard backup [-c FILE] [-s DIR] [--force] FILE\n"
"       switchboard status [-c FILE] [-s DIR] [--url http://HOST:PORT]\n"
"\n"
"Routes social posts to the team that owns them and posts them into\n"
"that team's chat.  Runs in the foreground; logs to stderr.\n"
"\n"
"  -c, --config FILE     configuration file (default %s)\n"
"  -s, --state-dir DIR   use DIR instead of general.state_directory\n"
"  -n, --check-config    validate the configuration and exit\n"
"  -v, --verbose         log at debug level\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"  route                 print the routing decision for every post in a\n"
"                        file of recorded Jetstream frames (dry run)\n"
"  audit                 print the audit log (chat commands, published\n"
"                        replies), oldest first; -n N: the newest N only;\n"
"                        --since: from that day on (UTC)\n"
"  outbox list           the chat deliveries queued, sent and failed:\n"
"                        [--destination NAME] [--state STATE] [-n N]\n"
"  outbox retry          make deliveries due now: ID... or\n"
"                        --destination NAME\n"
"  outbox drop           give deliveries up: ID... or --destination\n"
"                        NAME, and --yes-really-drop\n"
"  conversations list    [--team T] [--open|--resolved] [-n N]\n"
"  conversations show    CODE: as the chat command show prints it\n"
"  backup                a verified copy of the store, taken while the\n"
"                        daemon runs; --force replaces FILE\n"
"  status                sources (connection, lag), queues, open\n"
"                        conversations and pending replies on one screen;\n"
"                        live state from the daemon's listener (--url)\n"
"\n"
"Signals: SIGHUP reloads the configuration, SIGTERM stops.\n",
	    DEFAULT_CONFIG);
}

static int
check_config(const char *path)
{
	struct cfg_errors	 errs;
	struct config		*cfg;
	struct router		*router;
	char			*cause = NULL;
	size_t			 i;

	cfg_errors_init(&errs);
	cfg = config_load(path, &errs);
	for (i = 0; i < errs.msgs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs.v[i]);
	cfg_errors_free(&errs);
	if (cfg == NULL)
		return 1;
	/* What a reload does next: a check that passes, reloads. */
	router = router_new(cfg, &cause);
	if (router == NULL) {
		fprintf(stderr, "%s: %s\n", path, cause);
		free(cause);
		config_free(cfg);
		return 1;
	}
	router_free(router);
	printf("%s: configuration ok (%zu sources, %zu teams)\n", path,
	    cfg->nsources, cfg->nteams);
	config_free(cfg);
	return 0;
}

/* switchboard audit [-c FILE] [-s DIR] [-n N] [--since YYYY-MM-DD] */
static int
main_audit(int argc, char **argv, const char *config, const char *state_dir)
{
	static const struct option	 longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "state-dir",		required_argument,	NULL, 's' },
		{ "count",		required_argument,	NULL, 'n' },
		{ "since",		required_argument,	NULL, 'S' },
		{ NULL,			0,			NULL, 0 }
	};
	const char			*count = NULL, *since = NULL;
	int				 ch;

	/* Options may also follow the subcommand. */
	optind = 0;	/* 0: glibc starts over, permuting again */
	while ((ch = getopt_long(argc, argv, "c:s:n:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'n':
			count = optarg;
			break;
		case 'S':
			since = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc != optind) {
		usage(stderr);
		return 2;
	}
	return audit_cmd(config, state_dir, count, since, stdout);
}

/* switchboard status [-c FILE] [-s DIR] [--url URL] */
static int
main_status(int argc, char **argv, const char *config, const char *state_dir)
{
	static const struct option	 longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "state-dir",		required_argument,	NULL, 's' },
		{ "url",		required_argument,	NULL, 'u' },
		{ NULL,			0,			NULL, 0 }
	};
	const char			*url = NULL;
	int				 ch;

	optind = 0;	/* 0: glibc starts over, permuting again */
	while ((ch = getopt_long(argc, argv, "c:s:u:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc != optind) {
		usage(stderr);
		return 2;
	}
	return status_cmd(config, state_dir, url, stdout);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "state-dir",		required_argument,	NULL, 's' },
		{ "check-config",	no_argument,		NULL, 'n' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ "version",		no_argument,		NULL, 'V' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	struct app_options	 opts;
	struct app		*app;
	const char		*config = DEFAULT_CONFIG;
	int			 ch, check = 0, rc;

	setlocale(LC_CTYPE, "C.UTF-8");
	signal(SIGPIPE, SIG_IGN);
	log_open();
	memset(&opts, 0, sizeof(opts));
	opts.log_level = -1;
	while ((ch = getopt_long(argc, argv, "+c:s:nvVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 's':
			opts.state_dir = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			opts.log_level = LOG_DEBUG;
			break;
		case 'V':
			printf("switchboard %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "route") == 0) {
		/* Options may also follow the subcommand. */
		optind = 0;	/* 0: glibc starts over, permuting again */
		while ((ch = getopt_long(argc, argv, "c:", longopts,
		    NULL)) != -1) {
			if (ch != 'c') {
				usage(stderr);
				return 2;
			}
			config = optarg;
		}
		if (argc - optind != 1) {
			usage(stderr);
			return 2;
		}
		return route_cmd(config, argv[optind], stdout);
	}
	if (argc > 0 && strcmp(argv[0], "audit") == 0)
		return main_audit(argc, argv, config, opts.state_dir);
	if (argc > 0 && state_cmd_known(argv[0]))
		return state_cmd(argc, argv, config, opts.state_dir, stdout);
	if (argc > 0 && strcmp(argv[0], "status") == 0)
		return main_status(argc, argv, config, opts.state_dir);
	if (argc > 0) {
		fprintf(stderr, "switchboard: unknown command: %s\n", argv[0]);
		usage(stderr);
		return 2;
	}
	if (check)
		return check_config(config);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	opts.config_path = config;
	app = app_new(&opts);
	if (app == NULL) {
		curl_global_cleanup();
		return 1;
	}
	rc = app_run(app);
	app_free(app);
	curl_global_cleanup();
	return rc;
}
