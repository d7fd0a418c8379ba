/*
 * Logging to stderr with syslog priorities.  journald reads the "<N>"
 * prefix that log_open() enables when $JOURNAL_STREAM is set.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <syslog.h>

void	 log_open(void);
void	 log_set_level(int pri);		/* LOG_ERR .. LOG_DEBUG */
int	 log_get_level(void);
int	 log_level_parse(const char *);	/* "info" -> LOG_INFO, -1 if unknown */
void	 log_msg(int pri, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

extern int log_level;

#define log_at(pri, ...) do {						\
	if ((pri) <= log_level)						\
		log_msg((pri), __VA_ARGS__);				\
} while (0)
#define log_err(...)	log_at(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_at(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_at(LOG_DEBUG, __VA_ARGS__)

#endif
