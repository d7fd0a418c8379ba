/*
 * The config of watchers (teams[].watch) and storm alerts (storms):
 * read after every team, since both name teams and rules.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "config.h"
#include "config_parse.h"

#define CONFIG_STORM_FACTOR	4.0
#define CONFIG_STORM_MIN_POSTS	20
#define CONFIG_STORM_WINDOW	300
#define CONFIG_STORM_BASELINE	86400
#define CONFIG_STORM_CALM	600

static const char *const config_watch_keys[] = { "teams", "rules", NULL };
static const char *const config_storms_keys[] = {
	"alert_team", "factor", "min_posts", "window_s", "baseline_s",
	"calm_s", NULL
};

/* Item i of the string list s (one string counts as a list of one). */
static const config_setting_t *
config_watch_item(const config_setting_t *s, size_t i)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return s;
	return config_setting_get_elem(s, (unsigned int)i);
}

static void
config_watch_teams(struct team_conf *t, const config_setting_t *w,
    const struct config *c, struct cfg_errors *errs)
{
	const config_setting_t	*s, *where;
	const char		*name;
	size_t			 i;

	if (cfg_strv(w, "teams", 0, &t->watch_teams, errs) != 1)
		return;
	s = config_setting_get_member(w, "teams");
	for (i = 0; i < t->watch_teams.n; i++) {
		name = t->watch_teams.v[i];
		where = config_watch_item(s, i);
		if (config_team(c, name) == NULL)
			cfg_error(errs, where, "no team named \"%s\"", name);
		else if (t->name != NULL && strcmp(name, t->name) == 0)
			cfg_error(errs, where, "a team does not watch itself: "
			    "it sees its own posts already");
	}
}

/* "team/rule": a rule of another team. */
static void
config_watch_rule(const struct team_conf *t, const char *item,
    const config_setting_t *where, const struct config *c,
    struct cfg_errors *errs)
{
	const struct team_conf	*owner;
	const char		*slash = strchr(item, '/');
	char			*team;
	size_t			 i;

	if (slash == NULL || slash == item || slash[1] == '\0') {
		cfg_error(errs, where, "must be \"team/rule\", like "
		    "\"care/complaints\"");
		return;
	}
	team = xstrndup(item, (size_t)(slash - item));
	owner = config_team(c, team);
	if (owner == NULL)
		cfg_error(errs, where, "no team named \"%s\"", team);
	else if (owner == t)
		cfg_error(errs, where, "\"%s\" is this team's own rule: it "
		    "sees its posts already", item);
	else {
		for (i = 0; i < owner->nrules; i++)
			if (owner->rules[i].name != NULL &&
			    strcmp(owner->rules[i].name, slash + 1) == 0)
				break;
		if (i == owner->nrules)
			cfg_error(errs, where, "team \"%s\" has no rule "
			    "\"%s\"", team, slash + 1);
	}
	free(team);
}

static void
config_watch_team(struct team_conf *t, const config_setting_t *g,
    const struct config *c, struct cfg_errors *errs)
{
	const config_setting_t	*w, *s;
	size_t			 i;

	w = config_group(g, "watch", errs);
	if (w == NULL)
		return;
	cfg_check_keys(w, config_watch_keys, NULL, errs);
	config_watch_teams(t, w, c, errs);
	if (cfg_strv(w, "rules", 0, &t->watch_rules, errs) != 1)
		return;
	s = config_setting_get_member(w, "rules");
	for (i = 0; i < t->watch_rules.n; i++)
		config_watch_rule(t, t->watch_rules.v[i],
		    config_watch_item(s, i), c, errs);
}

void
config_watch(struct config *c, const config_setting_t *teams,
    struct cfg_errors *errs)
{
	const config_setting_t	*g;
	size_t			 i;

	for (i = 0; i < c->nteams; i++) {
		strv_init(&c->teams[i].watch_teams);
		strv_init(&c->teams[i].watch_rules);
		g = config_setting_get_elem(teams, (unsigned int)i);
		if (g != NULL && config_setting_is_group(g))
			config_watch_team(&c->teams[i], g, c, errs);
	}
}

void
config_storms(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	struct storm_conf	*sc = &c->storms;
	const config_setting_t	*g;
	long long		 v;
	int			 rc, wrc;

	g = config_group(root, "storms", errs);
	cfg_check_keys(g, config_storms_keys, NULL, errs);
	if (cfg_string(g, "alert_team", 0, NULL, &sc->alert_team,
	    errs) == 1 && config_team(c, sc->alert_team) == NULL)
		cfg_error(errs, config_setting_get_member(g, "alert_team"),
		    "no team named \"%s\"", sc->alert_team);
	/* An open range: "between 1 and ..." would suggest 1 works. */
	if (cfg_double(g, "factor", 0, -INFINITY, INFINITY,
	    CONFIG_STORM_FACTOR, &sc->factor, errs) == 1 &&
	    !(sc->factor > 1 && sc->factor <= 1000)) {
		cfg_error(errs, config_setting_get_member(g, "factor"),
		    "must be greater than 1 and at most 1000");
		sc->factor = CONFIG_STORM_FACTOR;
	}
	cfg_int(g, "min_posts", 0, 1, 1000000, CONFIG_STORM_MIN_POSTS, &v,
	    errs);
	sc->min_posts = (int)v;
	wrc = cfg_int(g, "window_s", 0, 10, 86400, CONFIG_STORM_WINDOW, &v,
	    errs);
	sc->window_s = (int)v;
	cfg_int(g, "calm_s", 0, 1, 86400, CONFIG_STORM_CALM, &v, errs);
	sc->calm_s = (int)v;
	rc = cfg_int(g, "baseline_s", 0, 60, 2592000, CONFIG_STORM_BASELINE,
	    &v, errs);
	/*
	 * The baseline leaves the current window out: it must be longer.
	 * A bad window (or baseline) was reported already.
	 */
	if (wrc >= 0 && rc == 1 && v < 2LL * sc->window_s)
		cfg_error(errs, config_setting_get_member(g, "baseline_s"),
		    "must be at least twice window_s (%d)", sc->window_s);
	else if (wrc >= 0 && rc == 0 && v < 2LL * sc->window_s)
		cfg_error(errs, config_setting_get_member(g, "window_s"),
		    "must be at most half of baseline_s (%lld)", v);
	sc->baseline_s = (int)v;
}

void
config_watch_free(struct config *c)
{
	size_t	i;

	for (i = 0; i < c->nteams; i++) {
		strv_free(&c->teams[i].watch_teams);
		strv_free(&c->teams[i].watch_rules);
	}
	free(c->storms.alert_team);
}
