/*
 * Loading a libconfig file into one immutable struct config: every key
 * checked, every error reported with its file and line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "config.h"
#include "config_parse.h"
#include "nostr.h"
#include "sink.h"
#include "source.h"
#include "text.h"

#define CONFIG_STATE_DIRECTORY	"/var/lib/switchboard"
#define CONFIG_NAME_MAX		32
#define CONFIG_LISTEN_ADDRESS	"127.0.0.1"
#define CONFIG_LISTEN_PORT	8642
#define CONFIG_MAX_BODY		16384

/* Where a rule sits decides which keys it may have. */
enum config_rule_kind {
	CONFIG_RULE_TEAM,	/* teams[].rules[]: name, priority, ... */
	CONFIG_RULE_DROP,	/* routing.drop[]: name, no priority */
	CONFIG_RULE_BRAND	/* routing.brand: no name, no priority */
};

/* How the items of one rule list are checked and normalised. */
enum config_list_kind {
	CONFIG_LIST_KEYWORD,
	CONFIG_LIST_HASHTAG,
	CONFIG_LIST_ID,
	CONFIG_LIST_PATTERN,
	CONFIG_LIST_LANGUAGE
};

static const struct {
	const char		*key;
	size_t			 off;
	enum config_list_kind	 kind;
	int			 content;	/* else a filter */
} config_rule_lists[] = {
	{ "keywords", offsetof(struct rule_conf, keywords),
	    CONFIG_LIST_KEYWORD, 1 },
	{ "hashtags", offsetof(struct rule_conf, hashtags),
	    CONFIG_LIST_HASHTAG, 1 },
	{ "mentions", offsetof(struct rule_conf, mentions), CONFIG_LIST_ID, 1 },
	{ "patterns", offsetof(struct rule_conf, patterns),
	    CONFIG_LIST_PATTERN, 1 },
	{ "authors", offsetof(struct rule_conf, authors), CONFIG_LIST_ID, 0 },
	{ "exclude_authors", offsetof(struct rule_conf, exclude_authors),
	    CONFIG_LIST_ID, 0 },
	{ "languages", offsetof(struct rule_conf, languages),
	    CONFIG_LIST_LANGUAGE, 0 },
};

static const char *const config_root_keys[] = {
	"general", "sources", "teams", "routing", "listener", "accounts",
	"commands", "socket_mode", "storms", NULL
};
static const char *const config_general_keys[] = {
	"state_directory", "log_level", "shutdown_timeout", NULL
};
static const char *const config_listener_keys[] = {
	"enabled", "address", "port", "max_body", "slack_signing_secret",
	"mattermost_token", NULL
};
static const char *const config_source_keys[] = { "name", "type", NULL };
static const char *const config_team_keys[] = {
	"name", "chat", "rules", "reply", "watch", NULL
};
static const char *const config_chat_keys[] = {
	"type", "webhook_url", "rate", "burst", "timeout", "channel_id",
	"down_after", "digest_after", "digest_max", NULL
};
static const char *const config_routing_keys[] = {
	"fallback_team", "brand", "drop", NULL
};
static const char *const config_rule_list_keys[] = {
	"keywords", "hashtags", "mentions", "patterns", "authors",
	"exclude_authors", "languages", NULL
};
static const char *const config_team_rule_keys[] = {
	"name", "priority", NULL
};
static const char *const config_drop_rule_keys[] = { "name", NULL };

static const struct {
	const char	*name;
	int		 level;
} config_log_levels[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

static struct strv *
config_rule_list(struct rule_conf *r, size_t i)
{
	return (struct strv *)((char *)r + config_rule_lists[i].off);
}

static void
config_rule_init(struct rule_conf *r)
{
	size_t	i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < nitems(config_rule_lists); i++)
		strv_init(config_rule_list(r, i));
}

static void
config_rule_clear(struct rule_conf *r)
{
	size_t	i;

	free(r->name);
	for (i = 0; i < nitems(config_rule_lists); i++)
		strv_free(config_rule_list(r, i));
	config_rule_init(r);
}

/*
 * Names end up in chat messages, database rows and "team/rule" labels,
 * so they stay plain: [a-z0-9][a-z0-9_-]{0,31}.
 */
static int
config_name_ok(const char *s)
{
	size_t	i;

	if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= CONFIG_NAME_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-'))
			return 0;
	}
	return 1;
}

/* A required name: present, a string and well-formed.  NULL if not. */
char *
config_name(const config_setting_t *g, struct cfg_errors *errs)
{
	char	*name;

	if (cfg_string(g, "name", CFG_REQUIRED, NULL, &name, errs) != 1)
		return NULL;
	if (!config_name_ok(name)) {
		cfg_error(errs, config_setting_get_member(g, "name"),
		    "must be 1 to %d characters of a-z, 0-9, '_' and '-', "
		    "starting with a letter or digit", CONFIG_NAME_MAX);
		free(name);
		return NULL;
	}
	return name;
}

/* A collection that must be a non-empty list of groups. */
static int
config_list_of_groups(const config_setting_t *root, const char *key,
    const char *what, struct cfg_errors *errs,
    const config_setting_t **out)
{
	const config_setting_t	*s = config_setting_get_member(root, key);

	*out = NULL;
	if (s == NULL) {
		cfg_error(errs, root, "missing required key \"%s\"", key);
		return -1;
	}
	if (!config_setting_is_list(s)) {
		cfg_error(errs, s, "must be a list of groups: "
		    "( { ... }, ... )");
		return -1;
	}
	if (config_setting_length(s) == 0) {
		cfg_error(errs, s, "at least one %s is required", what);
		return -1;
	}
	*out = s;
	return 0;
}

/* An optional group member: NULL when absent or (error) not a group. */
const config_setting_t *
config_group(const config_setting_t *parent, const char *key,
    struct cfg_errors *errs)
{
	const config_setting_t	*s;

	if (parent == NULL || !config_setting_is_group(parent))
		return NULL;
	s = config_setting_get_member(parent, key);
	if (s != NULL && !config_setting_is_group(s)) {
		cfg_error(errs, s, "must be a group: { ... }");
		return NULL;
	}
	return s;
}

static int
config_language_ok(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++)
		if (s[n] < 'a' || s[n] > 'z')
			return 0;
	return n == 2 || n == 3;
}

/* Check and normalise one rule list item; 0, or -1 with the error. */
static int
config_list_item(enum config_list_kind kind, char **item,
    const config_setting_t *where, struct cfg_errors *errs)
{
	struct strv	 words;
	regex_t		 re;
	char		 msg[256], *s, hex[65];
	size_t		 i;
	int		 rc;

	switch (kind) {
	case CONFIG_LIST_KEYWORD:
		strv_init(&words);
		text_words(*item, &words);
		rc = words.n > 0 ? 0 : -1;
		strv_free(&words);
		if (rc == -1)
			cfg_error(errs, where,
			    "must contain a letter or digit");
		return rc;
	case CONFIG_LIST_HASHTAG:
		s = text_lower_str(**item == '#' ? *item + 1 : *item);
		if (*s == '\0' || strpbrk(s, " \t\r\n#") != NULL) {
			cfg_error(errs, where, "must be one tag, like "
			    "\"acme\" or \"#acme\"");
			free(s);
			return -1;
		}
		free(*item);
		*item = s;
		return 0;
	case CONFIG_LIST_ID:
		if (strpbrk(*item, " \t\r\n") != NULL) {
			cfg_error(errs, where, "must not contain spaces");
			return -1;
		}
		/* Nostr posts name accounts by hex key: accept npub too. */
		if (strncmp(*item, "npub1", 5) == 0) {
			if (nostr_key_hex(*item, hex) != 0) {
				cfg_error(errs, where, "not a valid npub key");
				return -1;
			}
			free(*item);
			*item = xstrdup(hex);
		}
		return 0;
	case CONFIG_LIST_PATTERN:
		rc = regcomp(&re, *item, REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &re, msg, sizeof(msg));
			cfg_error(errs, where, "invalid regular expression: %s",
			    msg);
			return -1;
		}
		regfree(&re);
		return 0;
	case CONFIG_LIST_LANGUAGE:
		for (i = 0; (*item)[i] != '\0'; i++)
			if ((*item)[i] >= 'A' && (*item)[i] <= 'Z')
				(*item)[i] = (char)((*item)[i] - 'A' + 'a');
		if (!config_language_ok(*item)) {
			cfg_error(errs, where, "must be a 2 or 3 letter "
			    "language code, like \"en\"");
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Read and check every rule list; returns how many content lists are set. */
static int
config_rule_lists_read(const config_setting_t *g, struct rule_conf *r,
    int *filters, struct cfg_errors *errs)
{
	const config_setting_t	*s, *where;
	struct strv		*sv;
	size_t			 i, j;
	int			 content = 0;

	*filters = 0;
	for (i = 0; i < nitems(config_rule_lists); i++) {
		sv = config_rule_list(r, i);
		if (cfg_strv(g, config_rule_lists[i].key, 0, sv, errs) != 1)
			continue;
		s = config_setting_get_member(g, config_rule_lists[i].key);
		for (j = 0; j < sv->n; j++) {
			where = config_setting_type(s) == CONFIG_TYPE_STRING ?
			    s : config_setting_get_elem(s, (unsigned int)j);
			config_list_item(config_rule_lists[i].kind, &sv->v[j],
			    where, errs);
		}
		if (sv->n == 0)
			continue;
		if (config_rule_lists[i].content)
			content++;
		else
			(*filters)++;
	}
	return content;
}

/* One rule of any kind into r (initialised here); 0 or -1. */
static int
config_rule(const config_setting_t *g, enum config_rule_kind kind,
    struct rule_conf *r, struct cfg_errors *errs)
{
	const char *const	*extra;
	size_t			 before = errs->msgs.n, lists_before;
	long long		 prio = 0;
	int			 content, filters;

	config_rule_init(r);
	if (!config_setting_is_group(g)) {
		cfg_error(errs, g, "must be a group: { name = ...; ... }");
		return -1;
	}
	r->line = config_setting_source_line(g);
	extra = kind == CONFIG_RULE_TEAM ? config_team_rule_keys :
	    kind == CONFIG_RULE_DROP ? config_drop_rule_keys : NULL;
	cfg_check_keys(g, config_rule_list_keys, extra, errs);
	if (kind == CONFIG_RULE_BRAND)
		r->name = xstrdup("brand");
	else
		r->name = config_name(g, errs);
	if (kind == CONFIG_RULE_TEAM)
		cfg_int(g, "priority", 0, -1000, 1000, 0, &prio, errs);
	r->priority = (int)prio;
	lists_before = errs->msgs.n;
	content = config_rule_lists_read(g, r, &filters, errs);
	/* After a bad list, "matches every post" would only mislead. */
	if (content > 0 || filters > 0 || errs->msgs.n != lists_before)
		return errs->msgs.n == before ? 0 : -1;
	if (kind == CONFIG_RULE_TEAM)
		cfg_error(errs, g, "rule matches every post; use "
		    "routing.fallback_team for a catch-all");
	else if (kind == CONFIG_RULE_DROP)
		cfg_error(errs, g, "rule would drop every post");
	return errs->msgs.n == before ? 0 : -1;
}

/* Render a setting so that equal settings give equal text. */
static void
config_render(struct buf *b, const config_setting_t *s)
{
	const config_setting_t	**members, *tmp;
	const char		*p;
	int			 i, j, n;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		n = config_setting_length(s);
		members = xcalloc((size_t)n, sizeof(*members));
		for (i = 0; i < n; i++)
			members[i] = config_setting_get_elem(s,
			    (unsigned int)i);
		/* Key order in the file does not change meaning. */
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && strcmp(config_setting_name(
			    members[j - 1]), config_setting_name(
			    members[j])) > 0; j--) {
				tmp = members[j];
				members[j] = members[j - 1];
				members[j - 1] = tmp;
			}
		buf_addc(b, '{');
		for (i = 0; i < n; i++) {
			buf_printf(b, "%s=", config_setting_name(members[i]));
			config_render(b, members[i]);
			buf_addc(b, ';');
		}
		buf_addc(b, '}');
		free(members);
		break;
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		buf_addc(b, '[');
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			config_render(b, config_setting_get_elem(s,
			    (unsigned int)i));
		}
		buf_addc(b, ']');
		break;
	case CONFIG_TYPE_INT:
		buf_printf(b, "%d", config_setting_get_int(s));
		break;
	case CONFIG_TYPE_INT64:
		buf_printf(b, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		buf_printf(b, "%.17g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		buf_adds(b, config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		buf_addc(b, '"');
		for (p = config_setting_get_string(s); *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(b, '\\');
			buf_addc(b, *p);
		}
		buf_addc(b, '"');
		break;
	}
}

static void
config_source_read(struct source_conf *sc, const config_setting_t *g,
    const struct config *c, size_t idx, struct cfg_errors *errs)
{
	const config_setting_t	*type_s;
	struct buf		 fp;
	size_t			 i, before;

	if (!config_setting_is_group(g)) {
		cfg_error(errs, g, "must be a group: { name = ...; ... }");
		return;
	}
	sc->line = config_setting_source_line(g);
	sc->name = config_name(g, errs);
	for (i = 0; sc->name != NULL && i < idx; i++)
		if (c->sources[i].name != NULL &&
		    strcmp(c->sources[i].name, sc->name) == 0)
			cfg_error(errs, config_setting_get_member(g, "name"),
			    "duplicate source name \"%s\" (first at line %d)",
			    sc->name, c->sources[i].line);
	if (cfg_string(g, "type", CFG_REQUIRED, NULL, &sc->type,
	    errs) == 1) {
		sc->ops = source_find(sc->type);
		if (sc->ops == NULL) {
			type_s = config_setting_get_member(g, "type");
			cfg_error(errs, type_s, "unknown source type \"%s\"",
			    sc->type);
		}
	}
	/* Without a known type we cannot tell its keys from typos. */
	if (sc->ops == NULL)
		return;
	cfg_check_keys(g, config_source_keys, sc->ops->keys, errs);
	before = errs->msgs.n;
	if (sc->ops->configure != NULL &&
	    sc->ops->configure(sc, g, errs) == -1 && errs->msgs.n == before)
		cfg_error(errs, g, "invalid %s settings", sc->type);
	buf_init(&fp);
	config_render(&fp, g);
	/* A rewritten token file changes the source: reload reconnects. */
	cfg_file_digest(g, errs->basedir, &fp);
	sc->fingerprint = buf_steal(&fp);
}

static void
config_chat(struct chat_conf *chat, const config_setting_t *team,
    struct cfg_errors *errs)
{
	const config_setting_t	*g;
	const struct sink_ops	*ops;
	long long		 burst, timeout, n;
	size_t			 before;
	double			 minute;
	int			 rc;

	g = config_group(team, "chat", errs);
	if (g == NULL) {
		if (config_setting_get_member(team, "chat") == NULL)
			cfg_error(errs, team, "missing required key \"chat\"");
		return;
	}
	if (cfg_string(g, "type", CFG_REQUIRED, NULL, &chat->type, errs) != 1)
		return;
	ops = sink_find(chat->type);
	if (ops == NULL) {
		cfg_error(errs, config_setting_get_member(g, "type"),
		    "unknown chat type \"%s\"", chat->type);
		return;
	}
	chat->ops = ops;
	cfg_check_keys(g, config_chat_keys, ops->keys, errs);
	/*
	 * A sink without URLs (console) is not asked for one: reading it
	 * would fail on an unset _env for a key that is never used.  Its
	 * configure() rejects a stray webhook_url.
	 */
	rc = ops->needs_url ? cfg_string(g, "webhook_url", CFG_SECRET |
	    (cfg_secret_setting(g, "token") != g ? 0 : CFG_REQUIRED), NULL,
	    &chat->webhook_url, errs) : 0;
	if (rc == 1 && !url_scheme_ok(chat->webhook_url, "https", "http")) {
		/* Never quote the URL: its path is the credential. */
		cfg_error(errs, cfg_secret_setting(g, "webhook_url"),
		    "the URL must start with https:// (http:// only for "
		    "127.0.0.1, localhost or [::1])");
	}
	/* An open range: cfg_double's "between" would suggest 0 works. */
	if (cfg_double(g, "rate", 0, -INFINITY, INFINITY, ops->default_rate,
	    &chat->rate, errs) == 1 && !(chat->rate > 0 &&
	    chat->rate <= 1000)) {
		cfg_error(errs, config_setting_get_member(g, "rate"),
		    "must be greater than 0 and at most 1000");
		chat->rate = ops->default_rate;
	}
	cfg_int(g, "burst", 0, 1, 1000, ops->default_burst, &burst, errs);
	chat->burst = (int)burst;
	cfg_int(g, "timeout", 0, 1, 300, 10, &timeout, errs);
	chat->timeout_ms = (int)timeout * 1000;
	cfg_int(g, "down_after", 0, 1, 1000, 5, &n, errs);
	chat->down_after = (int)n;
	/* By default a queue longer than a minute's worth goes out as
	 * digests: the channel would otherwise lag that far behind. */
	minute = chat->rate * 60.0;
	cfg_int(g, "digest_after", 0, 1, 1000000, minute < 5 ? 5 :
	    minute > 1000000 ? 1000000 : (long long)minute, &n, errs);
	chat->digest_after = (int)n;
	cfg_int(g, "digest_max", 0, 2, 200, 20, &n, errs);
	chat->digest_max = (int)n;
	if (cfg_string(g, "channel_id", 0, NULL, &chat->channel_id,
	    errs) == 1 && chat->channel_id[0] == '\0') {
		cfg_error(errs, config_setting_get_member(g, "channel_id"),
		    "must not be empty");
		free(chat->channel_id);
		chat->channel_id = NULL;
	}
	before = errs->msgs.n;
	if (ops->configure != NULL && ops->configure(chat, g, errs) == -1 &&
	    errs->msgs.n == before)
		cfg_error(errs, g, "invalid %s settings", chat->type);
}

/*
 * The optional list of rules at g's key into *rules and *nrules (left
 * alone when the list is absent or empty).  Rule names must be unique
 * in the list; team names the team in that error, NULL for none.
 */
static void
config_rules(const config_setting_t *g, const char *key,
    enum config_rule_kind kind, const char *team, struct rule_conf **rules,
    size_t *nrules, struct cfg_errors *errs)
{
	const config_setting_t	*list, *rg, *name_s;
	struct rule_conf	*r;
	size_t			 i, j, n;

	list = config_setting_get_member(g, key);
	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		cfg_error(errs, list, "must be a list of groups: ( { ... }, "
		    "... )");
		return;
	}
	n = (size_t)config_setting_length(list);
	if (n == 0)
		return;
	r = xcalloc(n, sizeof(*r));
	*rules = r;
	*nrules = n;
	for (i = 0; i < n; i++) {
		rg = config_setting_get_elem(list, (unsigned int)i);
		config_rule(rg, kind, &r[i], errs);
		for (j = 0; r[i].name != NULL && j < i; j++) {
			if (r[j].name == NULL ||
			    strcmp(r[j].name, r[i].name) != 0)
				continue;
			name_s = config_setting_get_member(rg, "name");
			if (team != NULL)
				cfg_error(errs, name_s, "duplicate rule name "
				    "\"%s\" in team \"%s\" (first at line %d)",
				    r[i].name, team, r[j].line);
			else
				cfg_error(errs, name_s, "duplicate rule name "
				    "\"%s\" (first at line %d)", r[i].name,
				    r[j].line);
		}
	}
}

static void
config_team_read(struct team_conf *t, const config_setting_t *g,
    const struct config *c, size_t idx, struct cfg_errors *errs)
{
	const config_setting_t	*name_s;
	size_t			 i;

	if (!config_setting_is_group(g)) {
		cfg_error(errs, g, "must be a group: { name = ...; ... }");
		return;
	}
	t->line = config_setting_source_line(g);
	cfg_check_keys(g, config_team_keys, NULL, errs);
	t->name = config_name(g, errs);
	name_s = config_setting_get_member(g, "name");
	if (t->name != NULL && (strcmp(t->name, "drop") == 0 ||
	    strcmp(t->name, "ignore") == 0))
		cfg_error(errs, name_s, "\"%s\" is reserved (it names a "
		    "routing outcome)", t->name);
	for (i = 0; t->name != NULL && i < idx; i++)
		if (c->teams[i].name != NULL &&
		    strcmp(c->teams[i].name, t->name) == 0)
			cfg_error(errs, name_s, "duplicate team name \"%s\" "
			    "(first at line %d)", t->name, c->teams[i].line);
	config_chat(&t->chat, g, errs);
	/* A command from a channel must name one team, not two. */
	for (i = 0; t->chat.channel_id != NULL && i < idx; i++)
		if (c->teams[i].chat.channel_id != NULL &&
		    strcmp(c->teams[i].chat.channel_id,
		    t->chat.channel_id) == 0)
			cfg_error(errs, config_setting_get_member(
			    config_setting_get_member(g, "chat"),
			    "channel_id"), "channel \"%s\" already belongs "
			    "to team \"%s\" (line %d)", t->chat.channel_id,
			    c->teams[i].name ? c->teams[i].name : "?",
			    c->teams[i].line);
	config_rules(g, "rules", CONFIG_RULE_TEAM, t->name ? t->name : "?",
	    &t->rules, &t->nrules, errs);
	config_reply(t, g, c, errs);
}

static void
config_general(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	const config_setting_t	*g;
	char			*level;
	long long		 timeout;
	size_t			 i;

	g = config_group(root, "general", errs);
	cfg_check_keys(g, config_general_keys, NULL, errs);
	cfg_path_value(g, "state_directory", 0, CONFIG_STATE_DIRECTORY,
	    &c->state_directory, errs);
	c->log_level = LOG_INFO;
	if (cfg_string(g, "log_level", 0, "info", &level, errs) == 1) {
		for (i = 0; i < nitems(config_log_levels); i++)
			if (strcmp(level, config_log_levels[i].name) == 0)
				break;
		if (i < nitems(config_log_levels))
			c->log_level = config_log_levels[i].level;
		else
			cfg_error(errs, config_setting_get_member(g,
			    "log_level"), "must be one of error, warning, "
			    "notice, info, debug");
	}
	free(level);
	cfg_int(g, "shutdown_timeout", 0, 1, 300, 5, &timeout, errs);
	c->shutdown_timeout_ms = (int)timeout * 1000;
}

static void
config_routing(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	const config_setting_t	*g, *brand;
	int			 rc;

	config_rule_init(&c->routing.brand);
	g = config_group(root, "routing", errs);
	if (g == NULL)
		return;
	cfg_check_keys(g, config_routing_keys, NULL, errs);
	rc = cfg_string(g, "fallback_team", 0, NULL, &c->routing.fallback_team,
	    errs);
	if (rc == 1 && config_team(c, c->routing.fallback_team) == NULL)
		cfg_error(errs, config_setting_get_member(g, "fallback_team"),
		    "no team named \"%s\"", c->routing.fallback_team);
	brand = config_group(g, "brand", errs);
	if (brand != NULL)
		config_rule(brand, CONFIG_RULE_BRAND, &c->routing.brand, errs);
	config_rules(g, "drop", CONFIG_RULE_DROP, NULL, &c->routing.drop,
	    &c->routing.ndrop, errs);
}

/*
 * The slash-command listener.  No group, no listener: daemons that do
 * not take commands open no port.  The secrets are read only when the
 * listener is on, so a disabled one may name an unset variable.
 */
static void
config_listener(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	struct listener_conf	*l = &c->listener;
	const config_setting_t	*g;
	unsigned char		 addr[16];
	long long		 port, max_body;

	g = config_group(root, "listener", errs);
	cfg_check_keys(g, config_listener_keys, NULL, errs);
	cfg_bool(g, "enabled", 0, true, &l->enabled, errs);
	if (g == NULL)
		l->enabled = false;
	if (cfg_string(g, "address", 0, CONFIG_LISTEN_ADDRESS, &l->address,
	    errs) == 1 && inet_pton(AF_INET, l->address, addr) != 1 &&
	    inet_pton(AF_INET6, l->address, addr) != 1)
		cfg_error(errs, config_setting_get_member(g, "address"),
		    "must be an IPv4 or IPv6 address, like \"127.0.0.1\"");
	cfg_int(g, "port", 0, 1, 65535, CONFIG_LISTEN_PORT, &port, errs);
	l->port = (int)port;
	cfg_int(g, "max_body", 0, 1024, 1048576, CONFIG_MAX_BODY, &max_body,
	    errs);
	l->max_body = (size_t)max_body;
	if (!l->enabled)
		return;
	cfg_string(g, "slack_signing_secret", CFG_SECRET, NULL,
	    &l->slack_signing_secret, errs);
	cfg_string(g, "mattermost_token", CFG_SECRET, NULL,
	    &l->mattermost_token, errs);
}

static void
config_build(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	const config_setting_t	*list, *g;
	size_t			 i;

	cfg_check_keys(root, config_root_keys, NULL, errs);
	config_general(c, root, errs);
	/* Before the teams, whose reply groups name accounts. */
	config_accounts(c, root, errs);
	if (config_list_of_groups(root, "sources", "source", errs,
	    &list) == 0) {
		c->nsources = (size_t)config_setting_length(list);
		c->sources = xcalloc(c->nsources, sizeof(*c->sources));
		for (i = 0; i < c->nsources; i++) {
			g = config_setting_get_elem(list, (unsigned int)i);
			config_source_read(&c->sources[i], g, c, i, errs);
		}
	}
	if (config_list_of_groups(root, "teams", "team", errs, &list) == 0) {
		c->nteams = (size_t)config_setting_length(list);
		c->teams = xcalloc(c->nteams, sizeof(*c->teams));
		for (i = 0; i < c->nteams; i++) {
			g = config_setting_get_elem(list, (unsigned int)i);
			config_team_read(&c->teams[i], g, c, i, errs);
		}
		config_watch(c, list, errs);
	}
	config_routing(c, root, errs);
	config_listener(c, root, errs);
	config_commands(c, root, errs);
	config_socket_mode(c, root, errs);
	config_storms(c, root, errs);
}

/*
 * The absolute directory of path, without resolving symlinks: a config
 * reached through /etc/switchboard keeps its paths relative to there.
 */
static char *
config_basedir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*cwd, *dir, *out;

	if (slash == path)
		return xstrdup("/");
	dir = slash == NULL ? xstrdup(".") :
	    xstrndup(path, (size_t)(slash - path));
	if (dir[0] == '/')
		return dir;
	cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return dir;
	if (strcmp(dir, ".") == 0)
		out = xstrdup(cwd);
	else
		out = xasprintf("%s/%s", cwd, strncmp(dir, "./", 2) == 0 ?
		    dir + 2 : dir);
	free(cwd);
	free(dir);
	return out;
}

/*
 * Can path be read as a file?  Records why not.  O_NONBLOCK: a FIFO
 * must be refused, not waited on.
 */
static int
config_readable(const char *path, struct cfg_errors *errs)
{
	struct stat	st;
	int		fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		strv_take(&errs->msgs, xasprintf("%s: cannot read: %s", path,
		    strerror(errno)));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		strv_take(&errs->msgs, xasprintf("%s: cannot read: not a "
		    "regular file", path));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
config_syntax_error(const config_t *cfg, const char *path,
    struct cfg_errors *errs)
{
	const char	*file = config_error_file(cfg), *text, *slash;
	char		*shown;

	text = config_error_text(cfg) != NULL ? config_error_text(cfg) :
	    "unknown error";
	/* Included files are named relative to the main file's directory. */
	slash = strrchr(path, '/');
	if (file == NULL || strcmp(file, path) == 0 || file[0] == '/' ||
	    slash == NULL)
		shown = xstrdup(file != NULL ? file : path);
	else
		shown = xasprintf("%.*s/%s", (int)(slash - path), path, file);
	/* libconfig's own text is often just "syntax error". */
	if (strcmp(text, "syntax error") == 0)
		strv_take(&errs->msgs, xasprintf("%s:%d: syntax error", shown,
		    config_error_line(cfg)));
	else
		strv_take(&errs->msgs, xasprintf("%s:%d: syntax error: %s",
		    shown, config_error_line(cfg), text));
	free(shown);
}

struct config *
config_load(const char *path, struct cfg_errors *errs)
{
	struct config	*c = NULL;
	config_t	 cfg;
	const char	*saved = errs->basedir;
	char		*basedir;
	size_t		 before = errs->msgs.n;

	if (config_readable(path, errs) == -1)
		return NULL;
	basedir = config_basedir(path);
	if (config_check_includes(path, basedir, errs) == -1) {
		free(basedir);
		return NULL;
	}
	config_init(&cfg);
	config_set_include_dir(&cfg, basedir);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		config_syntax_error(&cfg, path, errs);
		goto out;
	}
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	errs->basedir = basedir;
	config_build(c, config_root_setting(&cfg), errs);
	errs->basedir = saved;
	if (errs->msgs.n != before) {
		config_free(c);
		c = NULL;
	}
out:
	config_destroy(&cfg);
	free(basedir);
	return c;
}

static void
config_chat_clear(struct chat_conf *chat)
{
	if (chat->settings != NULL) {
		if (chat->ops != NULL && chat->ops->settings_free != NULL)
			chat->ops->settings_free(chat->settings);
		else
			free(chat->settings);
	}
	free(chat->type);
	free(chat->webhook_url);
	free(chat->channel_id);
}

void
config_free(struct config *c)
{
	size_t	i, j;

	if (c == NULL)
		return;
	/* First: they walk c->teams. */
	config_reply_free(c);
	config_watch_free(c);
	for (i = 0; i < c->nsources; i++) {
		if (c->sources[i].settings != NULL &&
		    c->sources[i].ops != NULL &&
		    c->sources[i].ops->settings_free != NULL)
			c->sources[i].ops->settings_free(
			    c->sources[i].settings);
		free(c->sources[i].name);
		free(c->sources[i].type);
		free(c->sources[i].fingerprint);
	}
	free(c->sources);
	for (i = 0; i < c->nteams; i++) {
		free(c->teams[i].name);
		config_chat_clear(&c->teams[i].chat);
		for (j = 0; j < c->teams[i].nrules; j++)
			config_rule_clear(&c->teams[i].rules[j]);
		free(c->teams[i].rules);
	}
	free(c->teams);
	free(c->routing.fallback_team);
	config_rule_clear(&c->routing.brand);
	for (i = 0; i < c->routing.ndrop; i++)
		config_rule_clear(&c->routing.drop[i]);
	free(c->routing.drop);
	free(c->listener.address);
	free(c->listener.slack_signing_secret);
	free(c->listener.mattermost_token);
	free(c->path);
	free(c->state_directory);
	free(c);
}

const struct team_conf *
config_team(const struct config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nteams; i++)
		if (c->teams[i].name != NULL &&
		    strcmp(c->teams[i].name, name) == 0)
			return &c->teams[i];
	return NULL;
}

const struct team_conf *
config_team_by_channel(const struct config *c, const char *channel_id)
{
	size_t	i;

	if (channel_id == NULL || channel_id[0] == '\0')
		return NULL;
	for (i = 0; i < c->nteams; i++)
		if (c->teams[i].chat.channel_id != NULL &&
		    strcmp(c->teams[i].chat.channel_id, channel_id) == 0)
			return &c->teams[i];
	return NULL;
}

const struct source_conf *
config_source(const struct config *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].name != NULL &&
		    strcmp(c->sources[i].name, name) == 0)
			return &c->sources[i];
	return NULL;
}
