/*
 * The daemon: one libuv loop that owns the sources, the router, the
 * store and the outbox, and the pipeline that joins them.  Reload builds
 * a new config and router, then swaps them in.
 */
#ifndef SB_APP_H
#define SB_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "router.h"
#include "slash.h"
#include "source.h"
#include "store.h"

struct lws_context;
struct http;
struct outbox;
struct listener;
struct publisher;
struct socket_mode;
struct storms;
struct metrics;

/* Counters, logged at exit and exported by GET /metrics (metrics.h). */
struct app_stats {
	uint64_t	frames;		/* messages received from sources */
	uint64_t	bad_frames;	/* malformed, binary: skipped */
	uint64_t	oversize;	/* over max_frame_size: skipped */
	uint64_t	posts;		/* posts parsed */
	uint64_t	duplicates;	/* posts already recorded */
	uint64_t	routed;		/* posts recorded for a team */
	uint64_t	dropped;	/* matched a drop rule */
	uint64_t	ignored;	/* no team wanted them */
	uint64_t	delivered;	/* chat messages accepted */
	uint64_t	retried;	/* delivery attempts to retry */
	uint64_t	failed;		/* deliveries given up */
	uint64_t	digests;	/* digest messages accepted */
	uint64_t	dest_down;	/* destinations marked down */
	uint64_t	dest_up;	/* ... and up again */
	uint64_t	reloads;
	uint64_t	reload_failures;
	size_t		config_errors;	/* of the last failed reload; 0
					 * once a reload succeeds */
	uint64_t	store_errors;
};

struct app_options {
	const char	*config_path;
	const char	*state_dir;	/* overrides general.state_directory */
	int		 log_level;	/* -1: from the config */
};

struct app {
	uv_loop_t		 loop;
	struct app_options	 opts;
	struct config		*config;
	struct router		*router;
	struct store		*store;
	struct lws_context	*lws;
	struct http		*http;
	struct outbox		*outbox;
	struct listener		*listener;	/* slash commands, or NULL */
	struct publisher	*publisher;	/* replies to the networks */
	struct socket_mode	*socket_mode;	/* Slack Socket Mode, or NULL */
	struct storms		*storms;	/* storm detection, or NULL */
	struct source		**sources;
	size_t			 nsources;
	struct app_stats	 stats;
	struct metrics		*metrics;	/* per-label counters */
	int64_t			 store_failed_ms; /* monotonic: when the
						 * store last failed, 0
						 * once a commit works */

	uv_signal_t		 sig_term, sig_int, sig_hup;
	uv_check_t		 commit_check;	/* commits a burst */
	uv_timer_t		 stop_timer;	/* shutdown deadline */
	uv_timer_t		 restart_timer;	/* after a store error */
	uv_timer_t		 watchdog_timer; /* WATCHDOG=1 to systemd */
	int64_t			 watchdog_ms;	/* $WATCHDOG_USEC, or 0 */
	bool			 watchdog_held;	/* pings held back */
	bool			 stopping;
	bool			 dirty;		/* a burst awaits commit */
	int			 exit_code;
};

/*
 * Build the daemon from opts: load the config (errors printed as
 * FILE:LINE: message), open the store, start the sources.  NULL on
 * failure.
 */
struct app	*app_new(const struct app_options *);
/* Run until stopped; returns the exit code. */
int		 app_run(struct app *);
void		 app_free(struct app *);

/* Re-read the config; keep the running one if the new one is bad. */
int		 app_reload(struct app *);
/*
 * Commit the open burst now, if any (a command's or a publish result's
 * change must be durable before it is reported).  0, or -1 if the
 * commit failed (the burst was undone and the sources restart).
 */
int		 app_commit(struct app *);
/*
 * Run one verified chat command and return the answer's JSON body
 * (caller frees; NULL if it could not be built).  Shared by the HTTP
 * listener and Socket Mode.
 */
char		*app_run_command(struct app *, const struct slash_request *);
/* Begin an orderly stop. */
void		 app_stop(struct app *, int exit_code);

/* Sources report a frame they could not use (counted, skipped). */
void		 app_bad_frame(struct app *, struct source *, const char *why);
void		 app_oversize_frame(struct app *, struct source *, size_t);
/* A source's connection dropped (it reconnects by itself). */
void		 app_source_closed(struct app *, struct source *);
/* A replay source reached its end; may end the daemon. */
void		 app_source_finished(struct app *, struct source *);
/* Deliveries settled (outbox); may end a replay-and-exit run. */
void		 app_check_done(struct app *);

#endif
