/*
 * vmm-server/devices/sysctl.c - the PC's system-control ports (sysctl.h).
 */
#include "sysctl.h"

void sysctl_init(sysctl_t *c)
{
    c->port_a = SYSCTL_A_RESET;
    c->reset_ctl = 0;
}

sysctl_result_t sysctl_io(sysctl_t *c, uint16_t port, bool in, uint8_t *value)
{
    switch (port) {
    case SYSCTL_PORT_POST:
        if (in)
            *value = 0xFF;
        return SYSCTL_DONE;
    case SYSCTL_PORT_A: {
        if (in) {
            *value = c->port_a;
            return SYSCTL_DONE;
        }
        /* ICH "Port 92h": INIT_NOW resets on its 0 -> 1 transition. */
        bool reset = (*value & SYSCTL_A_FAST_RESET) && !(c->port_a & SYSCTL_A_FAST_RESET);
        c->port_a = *value & (SYSCTL_A_FAST_RESET | SYSCTL_A_A20);
        return reset ? SYSCTL_RESET : SYSCTL_DONE;
    }
    case SYSCTL_PORT_RESET: {
        if (in) {
            *value = c->reset_ctl;
            return SYSCTL_DONE;
        }
        /* ICH "CF9h": RST_CPU going 0 -> 1 starts the reset SYS_RST and
         * FULL_RST select (all the same to a VM: a full restart). */
        bool reset = (*value & SYSCTL_CF9_RST_CPU) && !(c->reset_ctl & SYSCTL_CF9_RST_CPU);
        c->reset_ctl = *value & (SYSCTL_CF9_KEPT | SYSCTL_CF9_RST_CPU);
        return reset ? SYSCTL_RESET : SYSCTL_DONE;
    }
    default:
        return SYSCTL_NOT_MINE;
    }
}
