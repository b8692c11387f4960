/* vmm-server/count_monitor.h - a stacked monitor that counts one exit reason. */
#ifndef COUNT_MONITOR_H
#define COUNT_MONITOR_H
#include <nestor/vcpu.h>
#include <stdbool.h>
#include <user/space.h>

typedef struct {
    nestor_cptr_t query;        /* our capability to ask it for its counts */
    unsigned reason;
} count_monitor_t;

/* Start a count monitor as a process of its own and stack it on @reason of
 * the VM whose exit table is @exit_table (a CNode capability of ours). */
bool count_monitor_stack(count_monitor_t *cm, nu_alloc_t *a, nestor_cptr_t exit_table,
                         unsigned reason);
/* Exits of its reason it saw, and any others (there should be none). */
bool count_monitor_query(const count_monitor_t *cm, nestor_word_t *counted, nestor_word_t *others);

#endif
