/*
 * systemd's readiness protocol (sd_notify) without libsystemd: one
 * datagram to $NOTIFY_SOCKET.  Does nothing when the variable is unset.
 */
#ifndef SB_NOTIFY_H
#define SB_NOTIFY_H

/* Send state, e.g. "READY=1" or "RELOADING=1\nMONOTONIC_USEC=...". */
int	notify_send(const char *state);
int	notify_ready(void);
int	notify_reloading(void);
int	notify_stopping(void);
/* "WATCHDOG=1": the service is alive (WatchdogSec= in the unit). */
int	notify_watchdog(void);
/*
 * The watchdog interval systemd asks for ($WATCHDOG_USEC), in
 * microseconds; 0 when unset, malformed, or meant for another process
 * ($WATCHDOG_PID).  Ping at half of it.
 */
long long notify_watchdog_usec(void);

#endif
