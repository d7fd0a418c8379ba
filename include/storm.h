/*
 * Storms: news versus noise.  Per team and per rule, a rolling baseline
 * of volume (posts per second, averaged over storms.baseline_s) against
 * the current rate (over storms.window_s).  When the current rate is
 * storms.factor times the baseline and at least storms.min_posts posts
 * came in the window, a storm starts: an alert goes to
 * storms.alert_team with the volume, the top words and hashtags and
 * example posts; when the rate stays under the threshold for calm_s,
 * a calm-down notice follows.  Time is the posts' own time (time_us),
 * so a replay of recorded traffic behaves as it did live.
 */
#ifndef SB_STORM_H
#define SB_STORM_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "post.h"
#include "store.h"

struct storms;

struct storms	*storms_new(void);
void		 storms_free(struct storms *);

/*
 * Count a post routed to team by rule ("team/rule" as the router says,
 * or NULL).  When a storm starts or calms down, queue its alert or
 * notice (store_note_queue on the conversation of conversation_id, to
 * conf->alert_team) inside the caller's transaction.  0, or -1 on a
 * store error.  With conf->alert_team NULL (storms off, perhaps by a
 * reload) nothing is counted and every storm is forgotten.
 */
int		 storms_count(struct storms *, const struct storm_conf *,
		    struct store *, const struct post *, const char *team,
		    const char *rule, int64_t conversation_id);
/* Whether team (or one of its rules) is in a storm now. */
bool		 storms_active(const struct storms *, const char *team);
/* Storms announced since storms_new, for metrics. */
uint64_t	 storms_started(const struct storms *);

#endif
