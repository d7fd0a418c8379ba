/* The table of source adapters. */
#include <string.h>

#include "app.h"
#include "source.h"
#include "ws.h"

const struct source_ops *const source_table[] = {
	&source_jetstream_ops,
	&source_mastodon_ops,
	&source_nostr_ops,
	&source_replay_ops,
	NULL
};

const struct source_ops *
source_find(const char *type)
{
	size_t	i;

	for (i = 0; source_table[i] != NULL; i++)
		if (strcmp(source_table[i]->type, type) == 0)
			return source_table[i];
	return NULL;
}

void
source_ws_configure(const config_setting_t *g, struct source_ws_settings *ws,
    struct cfg_errors *errs)
{
	const config_setting_t	*max;

	cfg_int(g, "idle_timeout", 0, 5, 3600, 60, &ws->idle_timeout_s, errs);
	cfg_int(g, "reconnect_min", 0, 10, 600000, 1000,
	    &ws->reconnect_min_ms, errs);
	if (cfg_int(g, "reconnect_max", 0, 10, 3600000, 60000,
	    &ws->reconnect_max_ms, errs) >= 0 &&
	    ws->reconnect_max_ms < ws->reconnect_min_ms) {
		max = config_setting_get_member(g, "reconnect_max");
		cfg_error(errs, max ? max : g,
		    "must be at least reconnect_min");
	}
	cfg_int(g, "max_frame_size", 0, 1024, 16777216, 1048576,
	    &ws->max_frame_size, errs);
}

void
source_ws_params(const struct source *src,
    const struct source_ws_settings *ws, struct ws_params *p)
{
	memset(p, 0, sizeof(*p));
	p->name = src->name;
	p->idle_timeout_ms = (int)ws->idle_timeout_s * 1000;
	p->reconnect_min_ms = (int)ws->reconnect_min_ms;
	p->reconnect_max_ms = (int)ws->reconnect_max_ms;
	p->max_message = (size_t)ws->max_frame_size;
}
