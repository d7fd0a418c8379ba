/*
 * The replay source: recorded Jetstream frames, one JSON message per
 * line, read from a file as if they came from the network.  For the
 * demo and for trying rules on real history.  The cursor is the byte
 * offset of the next line, so a restart resumes exactly where the last
 * committed burst ended.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "source.h"

#define REPLAY_LINES_PER_TICK	256

struct replay_settings {
	char	*file;
	bool	 exit_when_done;
};

struct replay_source {
	struct source	*src;
	FILE		*fp;
	long long	 offset;
	uv_idle_t	 idle;
	char		*line;
	size_t		 linecap;
};

static const char *const replay_keys[] = { "file", "exit_when_done", NULL };

static void
replay_settings_free(void *p)
{
	struct replay_settings	*rs = p;

	if (rs == NULL)
		return;
	free(rs->file);
	free(rs);
}

static int
replay_configure(struct source_conf *sc, const config_setting_t *g,
    struct cfg_errors *errs)
{
	struct replay_settings	*rs = xcalloc(1, sizeof(*rs));
	size_t			 before = errs->msgs.n;

	sc->settings = rs;
	cfg_path_value(g, "file", CFG_REQUIRED, NULL, &rs->file, errs);
	cfg_bool(g, "exit_when_done", 0, false, &rs->exit_when_done, errs);
	return errs->msgs.n == before ? 0 : -1;
}

static void
replay_tick(uv_idle_t *idle)
{
	struct replay_source	*r = idle->data;
	ssize_t			 n;
	int			 i;
	char			 cursor[32];

	for (i = 0; i < REPLAY_LINES_PER_TICK; i++) {
		n = getline(&r->line, &r->linecap, r->fp);
		if (n < 0)
			break;
		r->offset += n;
		while (n > 0 && (r->line[n - 1] == '\n' ||
		    r->line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		snprintf(cursor, sizeof(cursor), "%lld", r->offset);
		source_jetstream_frame(r->src, r->line, (size_t)n, NULL,
		    cursor);
		if (r->src->data != r)
			return;		/* stopped from inside the pipeline */
	}
	if (i < REPLAY_LINES_PER_TICK) {
		if (ferror(r->fp))
			log_err("source %s: read error: %s", r->src->name,
			    strerror(errno));
		else
			log_info("source %s: end of file", r->src->name);
		uv_idle_stop(&r->idle);
		r->src->finished = true;
		app_source_finished(r->src->app, r->src);
	}
}

static int
replay_start(struct source *src, char **cause)
{
	const struct replay_settings	*rs = src->conf->settings;
	struct replay_source		*r;
	char				*saved;
	long long			 offset = 0;
	FILE				*fp;

	fp = fopen(rs->file, "r");
	if (fp == NULL) {
		*cause = xasprintf("%s: %s", rs->file, strerror(errno));
		return -1;
	}
	saved = store_cursor_get(src->app->store, src->name);
	if (saved != NULL)
		offset = strtoll(saved, NULL, 10);
	free(saved);
	if (offset > 0 && fseeko(fp, (off_t)offset, SEEK_SET) != 0) {
		*cause = xasprintf("%s: cannot seek to %lld", rs->file,
		    offset);
		fclose(fp);
		return -1;
	}
	if (offset > 0)
		log_info("source %s: resuming at byte %lld", src->name,
		    offset);
	r = xcalloc(1, sizeof(*r));
	r->src = src;
	r->fp = fp;
	r->offset = offset;
	uv_idle_init(&src->app->loop, &r->idle);
	r->idle.data = r;
	uv_idle_start(&r->idle, replay_tick);
	src->data = r;
	src->finished = false;
	src->exit_when_finished = rs->exit_when_done;
	return 0;
}

static void
replay_idle_closed(uv_handle_t *h)
{
	struct replay_source	*r = h->data;

	free(r->line);
	free(r);
}

static void
replay_stop(struct source *src)
{
	struct replay_source	*r = src->data;

	if (r == NULL)
		return;
	src->data = NULL;
	fclose(r->fp);
	uv_idle_stop(&r->idle);
	uv_close((uv_handle_t *)&r->idle, replay_idle_closed);
}

const struct source_ops source_replay_ops = {
	.type = "replay",
	.keys = replay_keys,
	.configure = replay_configure,
	.settings_free = replay_settings_free,
	.start = replay_start,
	.stop = replay_stop,
};
