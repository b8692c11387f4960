/* count-monitor/count_monitor.h - the count monitor: its protocol (badges) and its loop. */
#ifndef COUNT_MONITOR_H
#define COUNT_MONITOR_H
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <user/sys.h>

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

#endif
