/*
 * The publisher pump: pending replies from the store to the networks,
 * one attempt at a time per account and in order, each outcome written
 * to the store, the audit log and the conversation's chat thread.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "publish.h"

#define PUBLISH_STORE_RETRY_MS	1000	/* look again after a store error */
/* As in the outbox: a longer Retry-After is a broken answer. */
#define PUBLISH_RETRY_AFTER_MAX_S	(24.0 * 60 * 60)

/* What the pump keeps per account name across attempts. */
struct publish_account {
	char			*name;
	struct publish_job	*job;		/* running, or NULL */
	void			*state;		/* the adapter's (sessions) */
	const struct publish_ops *state_ops;	/* frees state */
	struct account_conf	*settings;	/* what state was made for */
	int64_t			 not_before_ms;	/* wall: after a store error */
	bool			 warned;	/* missing account or network */
};

struct publisher {
	struct app		*app;
	uv_timer_t		 timer;
	struct publish_account	**accounts;
	size_t			 naccounts;
	size_t			 in_flight;
};

/* A job with what the pump needs to find its account again. */
struct publish_run {
	struct publish_job	 job;		/* first: the adapter's view */
	const struct publish_ops *ops;
	struct publish_account	*acct;		/* NULL once orphaned */
};

static const struct publish_ops *publish_table[] = {
	&publish_mastodon_ops,
	&publish_bluesky_ops,
	&publish_nostr_ops
};

static void	publisher_pump(struct publisher *);

const struct publish_ops *
publish_find(const char *type)
{
	size_t	i;

	if (type == NULL)
		return NULL;
	for (i = 0; i < nitems(publish_table); i++)
		if (strcmp(publish_table[i]->type, type) == 0)
			return publish_table[i];
	return NULL;
}

/* Whether text mentions "@acct" as a whole address, case-insensitively. */
static bool
publish_mentions(const char *text, const char *acct)
{
	size_t		 n = strlen(acct);
	const char	*p;
	char		 c;

	for (p = strchr(text, '@'); p != NULL; p = strchr(p + 1, '@')) {
		if (p > text && (isalnum((unsigned char)p[-1]) ||
		    p[-1] == '@' || p[-1] == '_'))
			continue;	/* inside another address */
		if (strncasecmp(p + 1, acct, n) != 0)
			continue;
		c = p[1 + n];
		if (!isalnum((unsigned char)c) && c != '_' && c != '@' &&
		    c != '-' && !(c == '.' && isalnum((unsigned char)p[2 + n])))
			return true;
	}
	return false;
}

char *
publish_compose(const struct account_conf *account, const struct post *parent,
    const char *text)
{
	const char	*acct;

	if (account == NULL || parent == NULL || account->type == NULL ||
	    strcmp(account->type, "mastodon") != 0)
		return xstrdup(text);
	acct = parent->author_handle != NULL ? parent->author_handle :
	    parent->author;
	if (acct == NULL)
		return xstrdup(text);
	while (*acct == '@')
		acct++;
	if (*acct == '\0' || publish_mentions(text, acct))
		return xstrdup(text);
	/* As Mastodon clients do: the server adds no mention itself. */
	return xasprintf("@%s %s", acct, text);
}

static void
publish_timer_cb(uv_timer_t *t)
{
	publisher_pump(t->data);
}

static struct publish_account *
publish_account(struct publisher *pub, const char *name)
{
	struct publish_account	*a;
	size_t			 i;

	for (i = 0; i < pub->naccounts; i++)
		if (strcmp(pub->accounts[i]->name, name) == 0)
			return pub->accounts[i];
	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(name);
	pub->accounts = xrealloc(pub->accounts, (pub->naccounts + 1) *
	    sizeof(*pub->accounts));
	pub->accounts[pub->naccounts++] = a;
	return a;
}

static void
publish_state_drop(struct publish_account *a)
{
	if (a->state != NULL && a->state_ops != NULL &&
	    a->state_ops->state_free != NULL)
		a->state_ops->state_free(a->state);
	a->state = NULL;
	a->state_ops = NULL;
	account_conf_free(a->settings);
	a->settings = NULL;
}

static bool
publish_streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether a session made with old is still good for new (a reload may
 * have changed the account's server or credentials). */
static bool
publish_same_account(const struct account_conf *old,
    const struct account_conf *new)
{
	return old != NULL && publish_streq(old->type, new->type) &&
	    publish_streq(old->base_url, new->base_url) &&
	    publish_streq(old->access_token, new->access_token) &&
	    publish_streq(old->identifier, new->identifier) &&
	    publish_streq(old->app_password, new->app_password) &&
	    publish_streq(old->secret_key, new->secret_key);
}

static void
publish_run_free(struct publish_run *run)
{
	account_conf_free(run->job.account);
	reply_free(&run->job.reply);
	free(run);
}

static const char *
publish_who(const struct reply *r)
{
	if (r->user_name != NULL && *r->user_name != '\0')
		return r->user_name;
	return r->user_id != NULL ? r->user_id : "someone";
}

/*
 * Write the outcome: the reply's new state, its audit entry and, when
 * it settled, a note to the team, in one transaction of its own.  -1
 * if the store failed (nothing was written: the reply stays pending).
 */
static int
publish_record(struct publisher *pub, const struct reply *r,
    enum publish_result result, const char *url, const char *id,
    double retry_after_s, const char *cause)
{
	struct app		*app = pub->app;
	struct audit_entry	 ae;
	char			 action[] = "publish";
	char			*res = NULL, *note = NULL;
	int64_t			 delay = 0;
	int			 rc = 0;

	/* Whatever burst is open is not ours to undo on failure. */
	if (app_commit(app) != 0 || store_begin(app->store) != 0)
		return -1;
	switch (result) {
	case PUBLISH_OK:
		rc = store_reply_done(app->store, r->id, url, id);
		res = xasprintf("published %s", url);
		note = xasprintf("Reply by %s published: %s", publish_who(r),
		    url);
		break;
	case PUBLISH_RETRY:
		if (retry_after_s >= 0) {
			if (retry_after_s > PUBLISH_RETRY_AFTER_MAX_S)
				retry_after_s = PUBLISH_RETRY_AFTER_MAX_S;
			delay = (int64_t)(retry_after_s * 1000.0);
		} else
			delay = outbox_backoff_ms(r->attempts + 1);
		rc = store_reply_retry(app->store, r->id, now_wall_ms() + delay,
		    cause);
		res = xasprintf("retry: %s", cause);
		break;
	case PUBLISH_FAIL:
		rc = store_reply_fail(app->store, r->id, cause);
		res = xasprintf("failed: %s", cause);
		note = xasprintf("Reply by %s failed: %s", publish_who(r),
		    cause);
		break;
	}
	memset(&ae, 0, sizeof(ae));
	ae.time_ms = now_wall_ms();
	ae.user_id = r->user_id;
	ae.user_name = r->user_name;
	ae.team = r->team;
	ae.code = r->code;
	ae.action = action;
	ae.text = r->text;
	ae.result = res;
	if (rc == 0)
		rc = store_audit_add(app->store, &ae);
	if (rc == 0 && note != NULL)
		rc = store_note_queue(app->store, r->conversation, r->team,
		    note);
	free(res);
	free(note);
	if (rc != 0) {
		store_rollback(app->store);
		return -1;
	}
	if (app_commit(app) != 0)
		return -1;
	metrics_count(app->metrics, METRICS_REPLIES, r->account,
	    result == PUBLISH_OK ? "published" : result == PUBLISH_RETRY ?
	    "retried" : "failed", 1);
	if (result == PUBLISH_RETRY)
		log_warn("publish %s: reply %lld: %s; retry in %lld ms",
		    r->account, (long long)r->id, cause, (long long)delay);
	else if (result == PUBLISH_FAIL)
		log_err("publish %s: reply %lld failed for good: %s",
		    r->account, (long long)r->id, cause);
	else
		log_info("publish %s: reply %lld published: %s", r->account,
		    (long long)r->id, url);
	return 0;
}

void
publish_job_done(struct publish_job *job, enum publish_result result,
    const char *url, const char *id, double retry_after_s, const char *cause)
{
	struct publish_run	*run = (struct publish_run *)job;
	struct publisher	*pub = job->pub;
	struct publish_account	*a = run->acct;

	if (pub == NULL || a == NULL) {
		/* Orphaned by publisher_free: the reply stays pending. */
		if (job->state != NULL && run->ops->state_free != NULL)
			run->ops->state_free(job->state);
		publish_run_free(run);
		return;
	}
	a->state = job->state;
	a->state_ops = run->ops;
	a->job = NULL;
	pub->in_flight--;
	if (result == PUBLISH_OK && (url == NULL || *url == '\0')) {
		result = PUBLISH_RETRY;
		cause = "published, but the network gave no link";
	}
	if (cause == NULL || *cause == '\0')
		cause = result == PUBLISH_RETRY ? "retry" : "refused";
	if (publish_record(pub, &job->reply, result, url, id, retry_after_s,
	    cause) != 0) {
		log_err("publish %s: reply %lld: the store failed; the outcome "
		    "(%s) is not recorded and the reply stays pending",
		    a->name, (long long)job->reply.id, result == PUBLISH_OK ?
		    url : cause);
		a->not_before_ms = now_wall_ms() + PUBLISH_STORE_RETRY_MS;
	}
	publish_run_free(run);
	outbox_kick(pub->app->outbox);
	publisher_kick(pub);
	app_check_done(pub->app);	/* a stop may be waiting for this */
}

/* Begin the account's next due reply; returns when to look again (wall
 * ms) or INT64_MAX. */
static int64_t
publish_pump_account(struct publisher *pub, const char *name)
{
	struct app			*app = pub->app;
	struct publish_account		*a = publish_account(pub, name);
	const struct account_conf	*conf;
	const struct publish_ops	*ops;
	struct publish_run		*run;
	struct reply			 r;
	int64_t				 now = now_wall_ms();
	int				 rc;

	if (a->job != NULL)
		return INT64_MAX;	/* its end kicks the pump */
	if (a->not_before_ms > now)
		return a->not_before_ms;
	conf = config_account(app->config, name);
	ops = conf != NULL ? publish_find(conf->type) : NULL;
	if (ops == NULL) {
		if (!a->warned)
			log_warn("publish %s: %s; its replies stay pending",
			    name, conf == NULL ? "no such account in the "
			    "configuration" : "no publisher for its network");
		a->warned = true;
		return INT64_MAX;
	}
	a->warned = false;
	memset(&r, 0, sizeof(r));
	rc = store_reply_head(app->store, name, &r);
	if (rc < 0)
		return now + PUBLISH_STORE_RETRY_MS;
	if (rc == 0)
		return INT64_MAX;
	if (r.next_try_ms > now) {
		now = r.next_try_ms;
		reply_free(&r);
		return now;
	}
	if (a->state != NULL && (a->state_ops != ops ||
	    !publish_same_account(a->settings, conf)))
		publish_state_drop(a);	/* made for other settings */
	if (a->settings == NULL)
		a->settings = account_conf_dup(conf);
	run = xcalloc(1, sizeof(*run));
	run->ops = ops;
	run->acct = a;
	run->job.pub = pub;
	run->job.account = account_conf_dup(conf);
	run->job.reply = r;
	run->job.state = a->state;
	run->job.loop = &app->loop;
	run->job.http = app->http;
	run->job.lws = app->lws;
	a->job = &run->job;
	pub->in_flight++;
	log_debug("publish %s: reply %lld, attempt %d", name,
	    (long long)r.id, r.attempts + 1);
	ops->start(&run->job);	/* may end at once: run is gone then */
	/* Ended already: its kick must not be undone by a later wake. */
	return a->job == NULL ? now : INT64_MAX;
}

static void
publisher_pump(struct publisher *pub)
{
	struct strv	names;
	size_t		i;
	int64_t		wake = INT64_MAX, w, now;

	if (pub->app->stopping)
		return;
	strv_init(&names);
	if (store_reply_accounts(pub->app->store, &names) != 0)
		wake = now_wall_ms() + PUBLISH_STORE_RETRY_MS;
	else {
		for (i = 0; i < names.n; i++) {
			w = publish_pump_account(pub, names.v[i]);
			if (w < wake)
				wake = w;
		}
	}
	strv_free(&names);
	if (wake != INT64_MAX) {
		now = now_wall_ms();
		uv_timer_start(&pub->timer, publish_timer_cb,
		    (uint64_t)(wake > now ? wake - now : 0), 0);
	}
}

void
publisher_kick(struct publisher *pub)
{
	if (pub != NULL)
		uv_timer_start(&pub->timer, publish_timer_cb, 0, 0);
}

size_t
publisher_in_flight(const struct publisher *pub)
{
	return pub != NULL ? pub->in_flight : 0;
}

struct publisher *
publisher_new(struct app *app)
{
	struct publisher	*pub = xcalloc(1, sizeof(*pub));

	pub->app = app;
	uv_timer_init(&app->loop, &pub->timer);
	pub->timer.data = pub;
	return pub;
}

static void
publisher_closed(uv_handle_t *h)
{
	free(h->data);
}

void
publisher_free(struct publisher *pub)
{
	struct publish_account	*a;
	struct publish_run	*run;
	size_t			 i;

	if (pub == NULL)
		return;
	for (i = 0; i < pub->naccounts; i++) {
		a = pub->accounts[i];
		if ((run = (struct publish_run *)a->job) != NULL) {
			/* Unrecorded: the reply stays pending and goes out
			 * again after a restart, idempotently. */
			if (run->ops->cancel != NULL) {
				run->ops->cancel(&run->job);
				/* The job may have replaced the state. */
				a->state = run->job.state;
				a->state_ops = run->ops;
				publish_run_free(run);
			} else {
				/* It ends later and frees its state then. */
				run->acct = NULL;
				run->job.pub = NULL;
				a->state = NULL;
			}
		}
		publish_state_drop(a);
		free(a->name);
		free(a);
	}
	free(pub->accounts);
	uv_timer_stop(&pub->timer);
	uv_close((uv_handle_t *)&pub->timer, publisher_closed);
}
