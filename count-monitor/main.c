/*
 * vmm-server/count_monitor_main.c - the count monitor as a program init
 * starts from a stack config ("nestor,count-monitor"). Its boot info grants
 * it one capability, the endpoint it serves on ("exits"); its command line
 * names the exit reasons it counts ("exits=10,18"). The VMM running the VM
 * puts its endpoint into an exit table of its own at its level of the VM's
 * stack and says so, badged CM_BADGE_SETUP; exits then arrive and are
 * passed on by reply (count_monitor.c).
 */
#include "count_monitor.h"
#include <nestor/bootinfo.h>
#include <stdlib.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define EXITS_OPT "exits="

int main(const nestor_bootinfo_t *bi)
{
    char name[32];
    if (!nu_option_copy(bi->cmdline, "monitor=", name, sizeof name))
        strncpy(name, "count-monitor", sizeof name - 1);
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    nestor_cptr_t ep = service ? service->cptr : 0;
    nestor_word_t reasons[CM_MAX_REASONS];
    unsigned n = 0;
    const char *p = nu_option(bi->cmdline, EXITS_OPT);
    for (char *end; p && *p >= '0' && *p <= '9' && n < CM_MAX_REASONS; p = end + (*end == ','))
        reasons[n++] = strtoul(p, &end, 10);
    if (!ep || n == 0) {
        printf("count-monitor %s: no endpoint or no exit reasons granted: nothing to serve\n", name);
        return 0;
    }
    /* Wait for the VMM to say the exit table is set. */
    nu_msg_t m = { 0 };
    while (nu_recv(ep, &m) != NESTOR_OK || m.badge != CM_BADGE_SETUP) {
        printf("count-monitor %s: a message before its setup (badge 0x%lx): ignored\n", name,
               m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
    }
    printf("count-monitor %s: serving %u exit reason%s\n", name, n, n == 1 ? "" : "s");
    m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, 0) };
    nu_reply(&m);
    count_monitor_serve(ep, reasons, n);
    return 0;
}
