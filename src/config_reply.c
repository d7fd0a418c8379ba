/*
 * Reading the reply side of the config: the social accounts replies are
 * published as, each team's reply group, the chat commands and Slack
 * Socket Mode.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "config.h"
#include "config_parse.h"
#include "nostr.h"
#include "text.h"

#define CONFIG_MAX_RELAYS	50
#define CONFIG_BLUESKY_URL	"https://bsky.social"
#define CONFIG_SLACK_API_URL	"https://slack.com/api"
#define CONFIG_COMMAND_NAME	"/sb"

static const char *const config_account_keys[] = {
	"name", "type", "max_length", "timeout", NULL
};
static const char *const config_mastodon_keys[] = {
	"base_url", "access_token", NULL
};
static const char *const config_bluesky_keys[] = {
	"base_url", "identifier", "app_password", NULL
};
static const char *const config_nostr_keys[] = {
	"secret_key", "relays", NULL
};
static const char *const config_reply_keys[] = {
	"accounts", "publishers", "drafters", "spokespeople", "managers",
	"blocked_words", "allowed_domains", "sign_off", "private_rules",
	"private_invitation", NULL
};
static const char *const config_commands_keys[] = { "name", "admins", NULL };
static const char *const config_socket_mode_keys[] = {
	"app_token", "api_url", NULL
};

static const struct {
	const char	*key;
	size_t		 off;
} config_user_lists[] = {
	{ "publishers", offsetof(struct reply_conf, publishers) },
	{ "drafters", offsetof(struct reply_conf, drafters) },
	{ "spokespeople", offsetof(struct reply_conf, spokespeople) },
	{ "managers", offsetof(struct reply_conf, managers) },
};

/* s without leading and trailing white space, in place. */
static char *
config_trim(char *s)
{
	static const char	 space[] = " \t\r\n\v\f";
	size_t			 n;

	n = strspn(s, space);
	memmove(s, s + n, strlen(s + n) + 1);
	n = strlen(s);
	while (n > 0 && strchr(space, s[n - 1]) != NULL)
		s[--n] = '\0';
	return s;
}

/*
 * One item of the string list s (a single string counts as a list of
 * one), for an error at that item's line.
 */
static const config_setting_t *
config_item(const config_setting_t *s, size_t i)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return s;
	return config_setting_get_elem(s, (unsigned int)i);
}

/*
 * A base URL a credential is sent to: https://, plain http:// only to
 * loopback (tests), no query, stored without trailing '/' so that
 * paths are appended as "%s/api/...".
 */
static int
config_base_url(const config_setting_t *g, const char *key, const char *def,
    char **out, struct cfg_errors *errs)
{
	size_t	n;
	int	rc;

	rc = cfg_string(g, key, def == NULL ? CFG_REQUIRED : 0, def, out,
	    errs);
	if (*out == NULL)
		return rc;
	n = strlen(*out);
	while (n > 0 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	if (rc != 1)
		return rc;
	if (!url_scheme_ok(*out, "https", "http")) {
		cfg_error(errs, config_setting_get_member(g, key),
		    "must be https://, or http:// to a loopback address");
		return -1;
	}
	if (strpbrk(*out, "?# \t\r\n") != NULL) {
		cfg_error(errs, config_setting_get_member(g, key),
		    "must be a base URL, without a query");
		return -1;
	}
	return 1;
}

/* Whether s holds a control character (a header-splitting newline). */
static int
config_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * A secret that goes into an HTTP header or message as it is.  The
 * error names the key, never the value.
 */
static int
config_token(const config_setting_t *g, const char *key, int flags,
    char **out, struct cfg_errors *errs)
{
	int	rc;

	rc = cfg_string(g, key, CFG_SECRET | flags, NULL, out, errs);
	if (rc == 1 && config_has_control(*out)) {
		cfg_error(errs, cfg_secret_setting(g, key),
		    "must not contain control characters or line breaks");
		free(*out);
		*out = NULL;
		return -1;
	}
	return rc;
}

/* secp256k1's group order: a secret key is in [1, n - 1]. */
static const unsigned char config_secp256k1_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41
};

/* The value of a lower-case hex digit (nostr_key_hex made it so). */
static int
config_hex_digit(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* A Nostr secret key, given as 64 hex digits or nsec1..., as hex. */
static void
config_secret_key(struct account_conf *a, const config_setting_t *g,
    struct cfg_errors *errs)
{
	static const unsigned char	 zero[32];
	const config_setting_t		*where;
	unsigned char			 key[32];
	char				*raw, hex[65] = "";
	size_t				 i;
	int				 ok;

	if (cfg_string(g, "secret_key", CFG_SECRET | CFG_REQUIRED, NULL, &raw,
	    errs) != 1) {
		free(raw);
		return;
	}
	where = cfg_secret_setting(g, "secret_key");
	if (strncasecmp(raw, "npub1", 5) == 0) {
		cfg_error(errs, where, "is a public key (npub1...); the "
		    "secret key (nsec1... or 64 hex digits) is needed");
		goto out;
	}
	/* Only 64 characters: nostr_key_hex would also take an npub. */
	if (strlen(raw) == 64) {
		ok = nostr_key_hex(raw, hex) == 0;
		for (i = 0; ok && i < 32; i++)
			key[i] = (unsigned char)(config_hex_digit(hex[2 * i]) <<
			    4 | config_hex_digit(hex[2 * i + 1]));
	} else
		ok = strncasecmp(raw, "nsec1", 5) == 0 &&
		    nip19_decode(raw, "nsec", key) == 0;
	if (!ok) {
		cfg_error(errs, where, "must be 64 hex digits or an "
		    "nsec1... key");
		goto out;
	}
	if (memcmp(key, zero, sizeof(key)) == 0 ||
	    memcmp(key, config_secp256k1_order, sizeof(key)) >= 0) {
		cfg_error(errs, where, "is not a valid secp256k1 secret key");
		goto out;
	}
	hex_encode(key, sizeof(key), hex);
	a->secret_key = xstrdup(hex);
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	explicit_bzero(raw, strlen(raw));
	free(raw);
}

/* Relays replies are sent to: wss:// (ws:// to loopback), no repeats. */
static void
config_account_relays(struct account_conf *a, const config_setting_t *g,
    struct cfg_errors *errs)
{
	const config_setting_t	*list = config_setting_get_member(g, "relays");
	struct strv		 raw;
	size_t			 i;

	strv_init(&raw);
	if (cfg_strv(g, "relays", CFG_REQUIRED, &raw, errs) != 1)
		goto out;
	if (raw.n == 0 || raw.n > CONFIG_MAX_RELAYS)
		cfg_error(errs, list, "needs 1 to %d relay URLs",
		    CONFIG_MAX_RELAYS);
	for (i = 0; i < raw.n; i++) {
		if (!url_scheme_ok(raw.v[i], "wss", "ws"))
			cfg_error(errs, config_item(list, i), "\"%s\": must be "
			    "wss://, or ws:// to a loopback address",
			    raw.v[i]);
		else if (strv_contains(&a->relays, raw.v[i]))
			cfg_error(errs, config_item(list, i),
			    "\"%s\" is listed twice", raw.v[i]);
		else
			strv_add(&a->relays, raw.v[i]);
	}
out:
	strv_free(&raw);
}

static void
config_account_mastodon(struct account_conf *a, const config_setting_t *g,
    struct cfg_errors *errs)
{
	config_base_url(g, "base_url", NULL, &a->base_url, errs);
	config_token(g, "access_token", CFG_REQUIRED, &a->access_token, errs);
}

static void
config_account_bluesky(struct account_conf *a, const config_setting_t *g,
    struct cfg_errors *errs)
{
	config_base_url(g, "base_url", CONFIG_BLUESKY_URL, &a->base_url,
	    errs);
	if (cfg_string(g, "identifier", CFG_REQUIRED, NULL, &a->identifier,
	    errs) == 1 && (a->identifier[0] == '\0' ||
	    strpbrk(a->identifier, " \t\r\n") != NULL))
		cfg_error(errs, config_setting_get_member(g, "identifier"),
		    "must be a handle or a DID, like \"acme.bsky.social\"");
	config_token(g, "app_password", CFG_REQUIRED, &a->app_password, errs);
}

static void
config_account_nostr(struct account_conf *a, const config_setting_t *g,
    struct cfg_errors *errs)
{
	config_secret_key(a, g, errs);
	config_account_relays(a, g, errs);
}

/*
 * What an account of each network needs.  max_length is the network's
 * default limit; cap the most it may be set to (Bluesky's 300 graphemes
 * are fixed by its lexicon, instances of the others can be larger).
 */
static const struct config_network {
	const char		*type;
	const char *const	*keys;
	void			 (*read)(struct account_conf *,
				     const config_setting_t *,
				     struct cfg_errors *);
	size_t			 max_length;
	size_t			 cap;
} config_networks[] = {
	{ "mastodon", config_mastodon_keys, config_account_mastodon, 500,
	    100000 },
	{ "bluesky", config_bluesky_keys, config_account_bluesky, 300, 300 },
	{ "nostr", config_nostr_keys, config_account_nostr, 2000, 100000 },
};

/* The keys and limits of one network's accounts. */
static void
config_account_network(struct account_conf *a, const config_setting_t *g,
    const struct config_network *net, struct cfg_errors *errs)
{
	long long	max_length, timeout;

	cfg_check_keys(g, config_account_keys, net->keys, errs);
	net->read(a, g, errs);
	cfg_int(g, "max_length", 0, 1, (long long)net->cap,
	    (long long)net->max_length, &max_length, errs);
	a->max_length = (size_t)max_length;
	cfg_int(g, "timeout", 0, 1, 300, 10, &timeout, errs);
	a->timeout_ms = (int)timeout * 1000;
}

static void
config_account_read(struct account_conf *a, const config_setting_t *g,
    const struct config *c, size_t idx, struct cfg_errors *errs)
{
	const struct config_network	*net = NULL;
	size_t				 i;

	strv_init(&a->relays);
	if (!config_setting_is_group(g)) {
		cfg_error(errs, g, "must be a group: { name = ...; ... }");
		return;
	}
	a->line = config_setting_source_line(g);
	a->name = config_name(g, errs);
	for (i = 0; a->name != NULL && i < idx; i++)
		if (c->accounts[i].name != NULL &&
		    strcmp(c->accounts[i].name, a->name) == 0)
			cfg_error(errs, config_setting_get_member(g, "name"),
			    "duplicate account name \"%s\" (first at line %d)",
			    a->name, c->accounts[i].line);
	if (cfg_string(g, "type", CFG_REQUIRED, NULL, &a->type, errs) != 1)
		return;
	for (i = 0; i < nitems(config_networks); i++)
		if (strcmp(config_networks[i].type, a->type) == 0)
			net = &config_networks[i];
	/* Without a known type we cannot tell its keys from typos. */
	if (net == NULL) {
		cfg_error(errs, config_setting_get_member(g, "type"),
		    "unknown account type \"%s\" (mastodon, bluesky or "
		    "nostr)", a->type);
		return;
	}
	config_account_network(a, g, net, errs);
}

/* The optional list of social accounts replies are published as. */
void
config_accounts(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	const config_setting_t	*list;
	size_t			 i;

	list = config_setting_get_member(root, "accounts");
	if (list == NULL)
		return;
	if (!config_setting_is_list(list)) {
		cfg_error(errs, list, "must be a list of groups: ( { ... }, "
		    "... )");
		return;
	}
	c->naccounts = (size_t)config_setting_length(list);
	if (c->naccounts == 0)
		return;
	c->accounts = xcalloc(c->naccounts, sizeof(*c->accounts));
	for (i = 0; i < c->naccounts; i++)
		config_account_read(&c->accounts[i],
		    config_setting_get_elem(list, (unsigned int)i), c, i, errs);
}

/*
 * A list of chat users: ids or names, '@' optional (and dropped), or
 * "*" for everyone.
 */
static void
config_users(const config_setting_t *g, const char *key, struct strv *out,
    struct cfg_errors *errs)
{
	const config_setting_t	*list = config_setting_get_member(g, key);
	struct strv		 raw;
	const char		*u;
	size_t			 i;

	strv_init(&raw);
	if (cfg_strv(g, key, 0, &raw, errs) == 1) {
		for (i = 0; i < raw.n; i++) {
			u = raw.v[i][0] == '@' ? raw.v[i] + 1 : raw.v[i];
			if (*u == '\0' || strpbrk(u, " \t\r\n@") != NULL)
				cfg_error(errs, config_item(list, i), "\"%s\" "
				    "is not a user id or name", raw.v[i]);
			else
				strv_add(out, u);
		}
	}
	strv_free(&raw);
}

/* The accounts a team replies with: known names, one per network. */
static void
config_reply_accounts(struct reply_conf *r, const config_setting_t *g,
    const struct config *c, struct cfg_errors *errs)
{
	const config_setting_t		*list;
	const struct account_conf	*a, *b;
	size_t				 i, j;

	if (cfg_strv(g, "accounts", 0, &r->accounts, errs) != 1)
		return;
	list = config_setting_get_member(g, "accounts");
	for (i = 0; i < r->accounts.n; i++) {
		a = config_account(c, r->accounts.v[i]);
		if (a == NULL) {
			cfg_error(errs, config_item(list, i), "no account "
			    "named \"%s\"", r->accounts.v[i]);
			continue;
		}
		for (j = 0; j < i; j++) {
			b = config_account(c, r->accounts.v[j]);
			if (b == NULL || a->type == NULL || b->type == NULL)
				continue;
			if (a == b)
				cfg_error(errs, config_item(list, i),
				    "\"%s\" is listed twice", a->name);
			else if (strcmp(a->type, b->type) == 0)
				cfg_error(errs, config_item(list, i), "two %s "
				    "accounts, \"%s\" and \"%s\": a team "
				    "replies with at most one per network",
				    a->type, b->name, a->name);
			else
				continue;
			break;
		}
	}
}

/* A bare domain: labels of letters, digits and '-', no scheme or path. */
static int
config_domain_ok(const char *d)
{
	const unsigned char	*p = (const unsigned char *)d;
	size_t			 label = 0;

	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p >= 0x80)
			label++;
		else
			return 0;
	}
	return label > 0;
}

/* allowed_domains: present (even empty) means links are restricted. */
static void
config_allowed_domains(struct reply_conf *r, const config_setting_t *g,
    struct cfg_errors *errs)
{
	const config_setting_t	*list;
	struct strv		 raw;
	char			*d;
	size_t			 i;

	list = config_setting_get_member(g, "allowed_domains");
	if (list == NULL)
		return;
	/* An empty array is valid: no links at all. */
	if ((config_setting_is_array(list) || config_setting_is_list(list)) &&
	    config_setting_length(list) == 0) {
		r->links_restricted = true;
		return;
	}
	strv_init(&raw);
	if (cfg_strv(g, "allowed_domains", 0, &raw, errs) == 1)
		r->links_restricted = true;
	for (i = 0; i < raw.n; i++) {
		d = text_lower_str(raw.v[i]);
		if (!config_domain_ok(d)) {
			cfg_error(errs, config_item(list, i), "\"%s\": must be "
			    "a bare domain, like \"acme.example\" (it also "
			    "allows its subdomains)", raw.v[i]);
			free(d);
		} else
			strv_take(&r->allowed_domains, d);
	}
	strv_free(&raw);
}

/* Rule names of the team only: "team/rule" is how they are stored. */
static void
config_private_rules(struct reply_conf *r, const struct team_conf *t,
    const config_setting_t *g, struct cfg_errors *errs)
{
	const config_setting_t	*list, *inv;
	size_t			 i, j;

	list = config_setting_get_member(g, "private_rules");
	if (cfg_strv(g, "private_rules", 0, &r->private_rules, errs) == 1) {
		for (i = 0; i < r->private_rules.n; i++) {
			for (j = 0; j < t->nrules; j++)
				if (t->rules[j].name != NULL &&
				    strcmp(t->rules[j].name,
				    r->private_rules.v[i]) == 0)
					break;
			if (j == t->nrules)
				cfg_error(errs, config_item(list, i), "no rule "
				    "named \"%s\" in team \"%s\"",
				    r->private_rules.v[i], t->name ? t->name :
				    "?");
		}
	}
	if (cfg_string(g, "private_invitation", 0, NULL,
	    &r->private_invitation, errs) == 1 &&
	    r->private_invitation[0] == '\0') {
		cfg_error(errs, config_setting_get_member(g,
		    "private_invitation"), "must not be empty");
		return;
	}
	inv = config_setting_get_member(g, "private_invitation");
	if (r->private_rules.n > 0 && inv == NULL)
		cfg_error(errs, g, "missing required key "
		    "\"private_invitation\" (private_rules is set)");
	else if (r->private_rules.n == 0 && inv != NULL)
		cfg_error(errs, inv, "set without private_rules: it is what "
		    "conversations of those rules are answered with");
}

/* A team's reply group: who may do what, and its code of conduct. */
void
config_reply(struct team_conf *t, const config_setting_t *team,
    const struct config *c, struct cfg_errors *errs)
{
	struct reply_conf	*r = &t->reply;
	const config_setting_t	*g, *list;
	struct strv		 words;
	size_t			 i, n;

	g = config_group(team, "reply", errs);
	if (g == NULL)
		return;
	cfg_check_keys(g, config_reply_keys, NULL, errs);
	config_reply_accounts(r, g, c, errs);
	for (i = 0; i < nitems(config_user_lists); i++)
		config_users(g, config_user_lists[i].key,
		    (struct strv *)((char *)r + config_user_lists[i].off),
		    errs);
	if (cfg_strv(g, "blocked_words", 0, &r->blocked_words, errs) == 1) {
		list = config_setting_get_member(g, "blocked_words");
		for (i = 0; i < r->blocked_words.n; i++) {
			strv_init(&words);
			text_words(r->blocked_words.v[i], &words);
			n = words.n;
			strv_free(&words);
			if (n == 0)
				cfg_error(errs, config_item(list, i),
				    "must contain a letter or digit");
		}
	}
	config_allowed_domains(r, g, errs);
	if (cfg_string(g, "sign_off", 0, NULL, &r->sign_off, errs) == 1 &&
	    *config_trim(r->sign_off) == '\0') {
		cfg_error(errs, config_setting_get_member(g, "sign_off"),
		    "must not be empty");
		free(r->sign_off);
		r->sign_off = NULL;
	}
	config_private_rules(r, t, g, errs);
}

/* The chat commands: their name in help texts, and who is an admin. */
void
config_commands(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	struct commands_conf	*cmd = &c->commands;
	const config_setting_t	*g;

	g = config_group(root, "commands", errs);
	cfg_check_keys(g, config_commands_keys, NULL, errs);
	if (cfg_string(g, "name", 0, CONFIG_COMMAND_NAME, &cmd->name,
	    errs) == 1 && (cmd->name[0] != '/' || cmd->name[1] == '\0' ||
	    strpbrk(cmd->name, " \t\r\n") != NULL)) {
		cfg_error(errs, config_setting_get_member(g, "name"),
		    "must be a slash command, like \"/sb\"");
	}
	if (g != NULL)
		config_users(g, "admins", &cmd->admins, errs);
}

/* Slack Socket Mode: on when an app-level token is given. */
void
config_socket_mode(struct config *c, const config_setting_t *root,
    struct cfg_errors *errs)
{
	struct socket_mode_conf	*sm = &c->socket_mode;
	const config_setting_t	*g;

	g = config_group(root, "socket_mode", errs);
	cfg_check_keys(g, config_socket_mode_keys, NULL, errs);
	config_base_url(g, "api_url", CONFIG_SLACK_API_URL, &sm->api_url,
	    errs);
	if (config_token(g, "app_token", 0, &sm->app_token, errs) == 1 &&
	    strncmp(sm->app_token, "xapp-", 5) != 0) {
		/* Quoting even its start could show a bot token. */
		cfg_error(errs, cfg_secret_setting(g, "app_token"),
		    "must be an app-level token (xapp-...), not a bot or "
		    "user token");
	}
}

static void
config_reply_clear(struct reply_conf *r)
{
	strv_free(&r->accounts);
	strv_free(&r->publishers);
	strv_free(&r->drafters);
	strv_free(&r->spokespeople);
	strv_free(&r->managers);
	strv_free(&r->blocked_words);
	strv_free(&r->allowed_domains);
	free(r->sign_off);
	strv_free(&r->private_rules);
	free(r->private_invitation);
}

/* Frees a's members; secrets are wiped first (core files, swap). */
static void
config_account_clear(struct account_conf *a)
{
	char	*secrets[] = { a->access_token, a->app_password,
		    a->secret_key };
	size_t	 i;

	for (i = 0; i < nitems(secrets); i++) {
		if (secrets[i] != NULL)
			explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	free(a->name);
	free(a->type);
	free(a->base_url);
	free(a->identifier);
	strv_free(&a->relays);
}

void
config_reply_free(struct config *c)
{
	size_t	i;

	for (i = 0; i < c->nteams; i++)
		config_reply_clear(&c->teams[i].reply);
	for (i = 0; i < c->naccounts; i++)
		config_account_clear(&c->accounts[i]);
	free(c->accounts);
	free(c->commands.name);
	strv_free(&c->commands.admins);
	if (c->socket_mode.app_token != NULL)
		explicit_bzero(c->socket_mode.app_token,
		    strlen(c->socket_mode.app_token));
	free(c->socket_mode.app_token);
	free(c->socket_mode.api_url);
}

const struct account_conf *
config_account(const struct config *c, const char *name)
{
	size_t	i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i].name != NULL &&
		    strcmp(c->accounts[i].name, name) == 0)
			return &c->accounts[i];
	return NULL;
}

const struct account_conf *
config_team_account(const struct config *c, const struct team_conf *t,
    const char *network)
{
	const struct account_conf	*a;
	size_t				 i;

	if (t == NULL || network == NULL)
		return NULL;
	for (i = 0; i < t->reply.accounts.n; i++) {
		a = config_account(c, t->reply.accounts.v[i]);
		if (a != NULL && a->type != NULL &&
		    strcmp(a->type, network) == 0)
			return a;
	}
	return NULL;
}

struct account_conf *
account_conf_dup(const struct account_conf *a)
{
	struct account_conf	*d;

	if (a == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->name = xstrdup(a->name);
	d->type = xstrdup(a->type);
	d->base_url = xstrdup(a->base_url);
	d->access_token = xstrdup(a->access_token);
	d->identifier = xstrdup(a->identifier);
	d->app_password = xstrdup(a->app_password);
	d->secret_key = xstrdup(a->secret_key);
	strv_copy(&d->relays, &a->relays);
	d->max_length = a->max_length;
	d->timeout_ms = a->timeout_ms;
	d->line = a->line;
	return d;
}

void
account_conf_free(struct account_conf *a)
{
	if (a == NULL)
		return;
	config_account_clear(a);
	free(a);
}
