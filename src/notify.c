/* sd_notify(3) by hand: a datagram on the unix socket systemd gave us. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

int
notify_send(const char *state)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	size_t			 n;
	int			 fd, rc;

	if (path == NULL || *path == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	/* Never block the loop: a notify socket nobody reads fills up
	 * after a few datagrams, and a lost one costs less than a stall. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, len) < 0 ? -1 : 0;
	close(fd);
	return rc;
}

int
notify_ready(void)
{
	return notify_send("READY=1\nSTATUS=running");
}

int
notify_reloading(void)
{
	struct timespec	ts;
	char		msg[128];

	/* systemd >= 253 wants the monotonic time with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(msg);
}

int
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

int
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

long long
notify_watchdog_usec(void)
{
	const char	*v = getenv("WATCHDOG_USEC"), *pid;
	char		*end;
	long long	 usec, p;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	usec = strtoll(v, &end, 10);
	if (*end != '\0' || usec <= 0)
		return 0;
	/* sd_watchdog_enabled(3): the variables may be inherited by a
	 * child that is not the service's main process. */
	pid = getenv("WATCHDOG_PID");
	if (pid != NULL && *pid != '\0') {
		p = strtoll(pid, &end, 10);
		if (*end != '\0' || p != (long long)getpid())
			return 0;
	}
	return usec;
}
