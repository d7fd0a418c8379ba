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

#endif
