/* Account mail (verification links, reset links, security notices) sent in the
 * background: a handler renders the notice and queues it; one sender thread per process
 * hands queued messages to mail_send (SMTP or the development outbox).
 *
 * Why not send inline: a reset request for a known address would then take as long as
 * an SMTP round trip and one for an unknown address would not, which tells an attacker
 * which addresses have accounts. Queued, both answer at once.
 *
 * The queue is in memory (LIMIT_AUTH_MAIL_QUEUE messages): a message still queued when
 * the process dies is lost, and the person asks again (a new link). Each send is tried
 * up to three times a few seconds apart. Rendered bodies (which may hold links with
 * tokens) are wiped when sent or dropped. */
#ifndef DROPFIX_AUTH_MAIL_H
#define DROPFIX_AUTH_MAIL_H

#include <stdint.h>

#include "core/config.h"
#include "mail/mail.h"

/* Renders notice n with the server's templates and queues it for to_addr (validated)
 * with display name to_name (may be NULL). cfg must outlive the sender (it is the
 * server's); the first call starts the sender thread. Returns 0, or -1 (render failure,
 * queue full, out of memory; logged without the address). */
int auth_mail_queue(const struct config *cfg, const char *to_addr, const char *to_name, const char *subject,
                    const struct mail_notice *n) __attribute__((warn_unused_result));

/* Stops the sender: messages still queued get up to timeout_ms to go out, the rest are
 * dropped (logged). Call before cfg is freed. Safe when nothing was ever queued. */
void auth_mail_stop(int64_t timeout_ms);

/* Messages waiting or being sent (tests, metrics). */
int auth_mail_pending(void);

#endif
