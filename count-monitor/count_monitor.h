/* count-monitor/count_monitor.h - the count monitor: its protocol (badges) and its loop. */
#ifndef COUNT_MONITOR_H
#define COUNT_MONITOR_H
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <user/sys.h>

/* How the VMM talks to a count monitor: by the badge on its endpoint. */
#define CM_BADGE_EXIT   0xC0    /* an exit to count and pass on */
#define CM_BADGE_QUERY  0xC1    /* "how many?": reply MR0 counted, MR1 others */
/* The query comes once the VMM's VMs have ended, and says how the monitor's
 * VM did (a monitor that debugs it tells its client, inspector/README.md
 * "The VM's end"): MR0 how, MR1 the guest's exit status. */
#define CM_QUERY_MR_HOW     0
#define CM_QUERY_MR_STATUS  1
#define CM_QUERY_WORDS      2
#define CM_QUERY_EXITED     1   /* the guest ended itself (the exit port): MR1 its status */
#define CM_QUERY_STOPPED    2   /* the VMM stopped it (an error it logged), or it never ended */
#define CM_BADGE_SETUP  0xC2    /* "your exit table is set" (started by init): reply 0 */
/* What the exit-table slots hold of a monitor's endpoint: send (exits are
 * calls), no grant (an exit carries no capabilities). */
#define CM_EXIT_RIGHTS  NESTOR_RIGHT_WRITE
#define CM_MAX_REASONS  4

/* The monitor's loop: count the exits of @reasons arriving at @ep and pass
 * every exit on (NESTOR_EXIT_REPLY_PASS_ON). Never returns. */
void count_monitor_serve(nestor_cptr_t ep, const nestor_word_t *reasons, unsigned n_reasons);

#endif
