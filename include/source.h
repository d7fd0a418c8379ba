/*
 * Source adapters: where posts come from.  Each adapter parses its own
 * config keys, connects however its network wants, and hands parsed
 * events to the core through app_ingest(); connection machinery shared
 * by websocket sources lives in ws.c.
 */
#ifndef SB_SOURCE_H
#define SB_SOURCE_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "config.h"
#include "post.h"

struct app;

struct source {
	const struct source_ops	*ops;
	const struct source_conf *conf;	/* borrowed from the live config */
	struct app		*app;
	char			*name;
	void			*data;		/* the adapter's */
	bool			 finished;	/* replay read to the end */
	bool			 exit_when_finished; /* then end the daemon */
	char			*pending_cursor; /* written at the next commit */
	int64_t			 newest_us;	/* newest post time_us seen,
						 * for its lag; 0: none yet */
};

struct source_ops {
	const char	*type;			/* config: type = "jetstream"; */
	const char *const *keys;		/* type-specific keys */
	/* Parse and validate type-specific keys into conf->settings.
	 * No I/O. */
	int	(*configure)(struct source_conf *,
		    const config_setting_t *group, struct cfg_errors *);
	void	(*settings_free)(void *);
	/* Start connecting or reading; resume from the stored cursor. */
	int	(*start)(struct source *, char **cause);
	/* Stop and free src->data; idempotent. */
	void	(*stop)(struct source *);
	/*
	 * Optional: whether the source is receiving now (for /readyz and
	 * metrics): a websocket is up; a source with several (Nostr
	 * relays) when one is.  false when stopped.  NULL: the source
	 * has no connection (replay) and always is.
	 */
	bool	(*connected)(struct source *);
};

/* What a source hands the core for one frame. */
struct ingest {
	struct post	*post;		/* new post (core takes it), or NULL */
	bool		 edited;	/* post is a new version of a known one */
	const char	*platform;	/* of deleted */
	const char	*deleted;	/* post id deleted by its author */
	const char	*author;	/* identity update: author id ... */
	const char	*handle;	/* ... and its new handle */
	const char	*cursor;	/* the source's new cursor, or NULL */
};

/* Route, record and queue what one frame produced. */
void	app_ingest(struct app *, struct source *, struct ingest *);

const struct source_ops	*source_find(const char *type);
extern const struct source_ops *const source_table[];

extern const struct source_ops source_jetstream_ops;
extern const struct source_ops source_mastodon_ops;
extern const struct source_ops source_nostr_ops;
extern const struct source_ops source_replay_ops;

/*
 * For adapters that read Jetstream frames (jetstream, replay): parse
 * one frame and hand it to the core.  A bad frame is counted and
 * skipped.  *max_time_us (may be NULL) is raised to the frame's time_us;
 * the ingest carries cursor, or *max_time_us in decimal if cursor is
 * NULL.
 */
/*
 * Connection settings every websocket source shares, with the same
 * names, defaults and ranges: idle_timeout (s), reconnect_min and
 * reconnect_max (ms), max_frame_size (bytes).
 */
struct source_ws_settings {
	long long	idle_timeout_s;
	long long	reconnect_min_ms;
	long long	reconnect_max_ms;
	long long	max_frame_size;
};
#define SOURCE_WS_KEYS	\
	"idle_timeout", "reconnect_min", "reconnect_max", "max_frame_size"
/* Read them from group g (errors recorded in errs). */
void	source_ws_configure(const config_setting_t *g,
	    struct source_ws_settings *, struct cfg_errors *errs);
/* The ws.c parameters for src from them. */
struct ws_params;
void	source_ws_params(const struct source *src,
	    const struct source_ws_settings *, struct ws_params *out);

void	source_jetstream_frame(struct source *, const char *buf, size_t len,
	    int64_t *max_time_us, const char *cursor);


#endif
