/*
 * The outbox pump: takes pending deliveries from the store, one
 * destination at a time and in order, and sends them through the sink
 * adapters within each destination's rate limit.  429s wait for the
 * platform's Retry-After; 5xx and network errors back off with jitter;
 * other 4xx fail for good.  Pending deliveries live in the store, so a
 * restart picks them up where they were.
 */
#ifndef SB_OUTBOX_H
#define SB_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

struct app;
struct outbox;

struct outbox	*outbox_new(struct app *);
void		 outbox_free(struct outbox *);
/* Look for due work soon (new deliveries, a reload, a finished send). */
void		 outbox_kick(struct outbox *);
/* Stop starting new sends (shutdown); in-flight ones still finish. */
void		 outbox_pause(struct outbox *);
size_t		 outbox_in_flight(const struct outbox *);

/* Retry delay after `attempts` failures: exponential, capped, jittered. */
int64_t		 outbox_backoff_ms(int attempts);

#endif
