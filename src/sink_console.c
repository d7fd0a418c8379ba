/* The console sink: prints what each team's channel would show, one
 * message or a digest of many, for the offline demo and for trying
 * rules without a chat server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"
#include "text.h"

/* The demo shows enough of a post to judge the routing, not all of it. */
#define SINK_CONSOLE_TEXT_MAX	500
#define SINK_CONSOLE_LANGS_MAX	40
/* Header lines are padded with rules to this many columns. */
#define SINK_CONSOLE_WIDTH	72

/* A digest line: "  K7QX  @alice.example: the first 80 characters". */

#define SINK_CONSOLE_RULE	"\xe2\x94\x80"	/* ─ */

/*
 * Append user text s with every control character but newline replaced
 * (tabs by a space), including C1 controls that some UTF-8 terminals
 * obey, so a post cannot move the cursor, recolour or retitle the
 * terminal.  Each newline is followed by indent.
 */
static void
sink_console_clean(struct buf *b, const char *s, const char *indent)
{
	struct sink_walk	w;

	sink_walk_init(&w, s);
	while (sink_walk_next(&w)) {
		if (w.cp == SINK_WALK_INVALID)
			buf_adds(b, SINK_REPLACEMENT);
		else if (w.cp == '\n') {
			buf_addc(b, '\n');
			buf_adds(b, indent);
		} else if (w.cp == '\t')
			buf_addc(b, ' ');
		else if (text_control(w.cp))
			buf_adds(b, SINK_REPLACEMENT);
		else
			buf_add(b, w.p, w.len);
	}
}

/* "── #care ── K7QX ── care/complaints ─────…" */
static void
sink_console_header(struct buf *b, const struct delivery *d)
{
	size_t	start = b->len, width;

	buf_adds(b, SINK_CONSOLE_RULE SINK_CONSOLE_RULE " #");
	sink_console_clean(b, d->destination != NULL ? d->destination :
	    d->team, "");
	if (d->team != NULL && d->destination != NULL &&
	    strcmp(d->team, d->destination) != 0) {
		buf_adds(b, " (team ");
		sink_console_clean(b, d->team, "");
		buf_addc(b, ')');
	}
	if (d->code != NULL) {
		buf_adds(b, " " SINK_CONSOLE_RULE SINK_CONSOLE_RULE " ");
		sink_console_clean(b, d->code, "");
	}
	if (d->kind != DELIVERY_NOTE) {
		buf_adds(b, " " SINK_CONSOLE_RULE SINK_CONSOLE_RULE " ");
		sink_console_clean(b, d->rule != NULL ? d->rule : "?", "");
	}
	if (sink_kind_label(d) != NULL) {
		buf_adds(b, " " SINK_CONSOLE_RULE SINK_CONSOLE_RULE " ");
		buf_adds(b, sink_kind_label(d));
	}
	buf_addc(b, ' ');
	width = text_chars(b->data + start);
	do {
		buf_adds(b, SINK_CONSOLE_RULE);
	} while (++width < SINK_CONSOLE_WIDTH);
	buf_addc(b, '\n');
}

/* "@alice.example on Bluesky (reply, en) · https://bsky.app/…" */
static void
sink_console_byline(struct buf *b, const struct post *p)
{
	struct buf	 extra;
	char		*cut, *author;
	size_t		 i;

	author = sink_author(p);
	sink_console_clean(b, author, "");
	free(author);
	buf_adds(b, " on ");
	sink_console_clean(b, sink_platform_name(p->platform), "");

	buf_init(&extra);
	buf_adds(&extra, "");
	if (sink_is_private(p))
		buf_adds(&extra, "private");
	if (p->reply_root != NULL || p->reply_parent != NULL)
		buf_adds(&extra, extra.len > 0 ? ", reply" : "reply");
	for (i = 0; i < p->langs.n; i++) {
		if (extra.len > 0)
			buf_adds(&extra, ", ");
		buf_adds(&extra, p->langs.v[i]);
	}
	if (extra.len > 0) {
		cut = text_truncate(extra.data, SINK_CONSOLE_LANGS_MAX);
		buf_adds(b, " (");
		sink_console_clean(b, cut, "");
		buf_addc(b, ')');
		free(cut);
	}
	buf_free(&extra);
	if (p->url != NULL && *p->url != '\0') {
		buf_adds(b, " \xc2\xb7 ");
		sink_console_clean(b, p->url, "");
	}
	buf_addc(b, '\n');
}

static char *
sink_console_render(const struct delivery *d)
{
	struct buf	 b;
	const char	*text;
	char		*cut;

	buf_init(&b);
	sink_console_header(&b, d);
	if (d->kind == DELIVERY_NOTE && d->note != NULL) {
		cut = text_truncate(d->note, SINK_CONSOLE_TEXT_MAX);
		buf_adds(&b, "  ");
		sink_console_clean(&b, cut, "  ");
		free(cut);
		buf_adds(&b, "\n\n");
		return buf_steal(&b);
	}
	text = d->post->text;
	sink_console_byline(&b, d->post);
	/* Image-only posts are real and common; say so instead of "". */
	if (text == NULL || *text == '\0')
		text = "(no text)";
	cut = text_truncate(text, SINK_CONSOLE_TEXT_MAX);
	buf_adds(&b, "  ");
	sink_console_clean(&b, cut, "  ");
	free(cut);
	buf_adds(&b, "\n\n");
	return buf_steal(&b);
}

/* One message out; takes msg. */
static enum sink_result
sink_console_print(char *msg, char **cause)
{
	size_t	 len;
	int	 failed;

	len = strlen(msg);
	/* One write and a flush per message, so messages never interleave
	 * with log lines mid-way and a reader sees each one at once. */
	failed = fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0;
	free(msg);
	if (failed) {
		/* A closed or full stdout will not get better by retrying. */
		*cause = xasprintf("console: stdout: %s", strerror(errno));
		clearerr(stdout);
		return SINK_FAIL;
	}
	return SINK_OK;
}

static enum sink_result
sink_console_write(const struct chat_conf *chat, const struct delivery *d,
    char **cause)
{
	(void)chat;
	if (d->post == NULL && d->kind != DELIVERY_NOTE) {
		*cause = xstrdup("console: delivery has no post");
		return SINK_FAIL;
	}
	return sink_console_print(sink_console_render(d), cause);
}

/*
 * "── #care ── digest of 20 posts ──…", then one line per post:
 * "  K7QX  @alice.example: the first 80 characters".
 */
static enum sink_result
sink_console_write_digest(const struct chat_conf *chat,
    const struct delivery *const *d, size_t n, char **cause)
{
	struct buf	 b;
	char		*cut, *author, *label, *q;
	size_t		 i, width;
	const char	*p;

	(void)chat;
	for (i = 0; i < n; i++) {
		if (d[i]->post == NULL || d[i]->kind != DELIVERY_POST) {
			*cause = xstrdup("console: a digest lists posts only");
			return SINK_FAIL;
		}
	}
	if (n == 0) {
		*cause = xstrdup("console: empty digest");
		return SINK_FAIL;
	}
	buf_init(&b);
	buf_adds(&b, SINK_CONSOLE_RULE SINK_CONSOLE_RULE " #");
	sink_console_clean(&b, d[0]->destination != NULL ?
	    d[0]->destination : d[0]->team, "");
	label = xasprintf(" " SINK_CONSOLE_RULE SINK_CONSOLE_RULE
	    " digest of %zu posts ", n);
	buf_adds(&b, label);
	free(label);
	width = text_chars(b.data);
	do {
		buf_adds(&b, SINK_CONSOLE_RULE);
	} while (++width < SINK_CONSOLE_WIDTH);
	buf_addc(&b, '\n');
	for (i = 0; i < n; i++) {
		buf_adds(&b, "  ");
		sink_console_clean(&b, d[i]->code != NULL ? d[i]->code : "?",
		    "");
		buf_adds(&b, "  ");
		author = sink_author(d[i]->post);
		cut = text_truncate(author, SINK_DIGEST_AUTHOR);
		sink_console_clean(&b, cut, "");
		free(cut);
		free(author);
		p = d[i]->post->text;
		if (p != NULL && *p != '\0') {
			buf_adds(&b, ": ");
			cut = text_truncate(p, SINK_DIGEST_TEXT);
			/* One line per post: breaks become spaces. */
			for (q = cut; *q != '\0'; q++)
				if (*q == '\n' || *q == '\r')
					*q = ' ';
			sink_console_clean(&b, cut, "");
			free(cut);
		}
		buf_addc(&b, '\n');
	}
	buf_addc(&b, '\n');
	return sink_console_print(buf_steal(&b), cause);
}

/*
 * The console posts nowhere, so a webhook_url here is a mistake (a type
 * changed without its URL): say so rather than ignore a secret.
 */
static int
sink_console_configure(struct chat_conf *chat, const config_setting_t *group,
    struct cfg_errors *errs)
{
	static const char *const	 urls[] = {
		"webhook_url", "webhook_url_file", "webhook_url_env", NULL
	};
	const config_setting_t		*s;
	size_t				 i;
	int				 rc = 0;

	(void)chat;
	if (group == NULL)
		return 0;
	for (i = 0; urls[i] != NULL; i++) {
		s = config_setting_get_member(group, urls[i]);
		if (s == NULL)
			continue;
		cfg_error(errs, s, "not used by chat type \"console\"");
		rc = -1;
	}
	return rc;
}

const struct sink_ops sink_console_ops = {
	.type = "console",
	/* Printing is free: never hold the demo back. */
	.default_rate = 1000.0,
	.default_burst = 1000,
	.configure = sink_console_configure,
	.write = sink_console_write,
	.write_digest = sink_console_write_digest
};
