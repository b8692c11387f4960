/* vmm-server/count_monitor.h - a stacked monitor that counts one exit reason. */
#ifndef COUNT_MONITOR_H
#define COUNT_MONITOR_H
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <user/space.h>

/* How the VMM talks to a count monitor: by the badge on its endpoint. */
#define CM_BADGE_EXIT   0xC0    /* an exit to count and pass on */
#define CM_BADGE_QUERY  0xC1    /* "how many?": reply MR0 counted, MR1 others */
#define CM_BADGE_SETUP  0xC2    /* "your exit table is set" (started by init): reply 0 */
/* What the exit-table slots hold of a monitor's endpoint: send (exits are
 * calls), no grant (an exit carries no capabilities). */
#define CM_EXIT_RIGHTS  NESTOR_RIGHT_WRITE
#define CM_MAX_REASONS  4

/* The monitor's loop: count the exits of @reasons arriving at @ep and pass
 * every exit on (NESTOR_EXIT_REPLY_PASS_ON). Never returns. */
void count_monitor_serve(nestor_cptr_t ep, const nestor_word_t *reasons, unsigned n_reasons);

/* Stack a monitor on @vcpu: a fresh exit table at @level whose slots of
 * @reasons hold @ep badged @badge (and nothing else). Returns the table's
 * capability, 0 on failure. */
nestor_cptr_t count_monitor_table(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned level,
                                  nestor_cptr_t ep, nestor_word_t badge,
                                  const nestor_word_t *reasons, unsigned n_reasons);
/* Start a count monitor as a process of its own and stack it at level 1 on
 * @reason of the VM whose VCPU is @vcpu. Returns our capability to query
 * it (badged CM_BADGE_QUERY), 0 on failure. */
nestor_cptr_t count_monitor_stack(nu_alloc_t *a, nestor_cptr_t vcpu, unsigned reason);
/* Ask the count monitor behind @query: exits of its reasons it saw, and the
 * others it passed through. */
bool count_monitor_query(nestor_cptr_t query, nestor_word_t *counted, nestor_word_t *others);

#endif
