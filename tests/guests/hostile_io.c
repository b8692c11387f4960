/*
 * tests/guests/hostile_io.c - a hostile guest: garbage to every legacy I/O
 * port and to a spread of the others (all but its own exit and console
 * ports). Every access exits to the VMM, which models or drops it: the host's
 * devices are never touched. The guest then reports and exits normally.
 */
#include "lib/guest.h"

#define LEGACY_PORTS 0x400u
#define HIGH_STRIDE  61u                /* a prime: ports of every alignment */
#define COM1_FIRST   0x3F8u
#define COM1_LAST    0x3FFu
#define SHUTDOWN_PORT 0x8900u

static int spared(uint32_t port)
{
    return port == GUEST_EXIT_PORT || port == SHUTDOWN_PORT ||
           (port >= COM1_FIRST && port <= COM1_LAST);
}

int guest_main(void)
{
    unsigned n = 0;
    for (uint32_t port = 0; port <= 0xFFFF; port += port < LEGACY_PORTS ? 1 : HIGH_STRIDE) {
        if (spared(port))
            continue;
        outb((uint16_t)port, (uint8_t)(port * 37u));
        (void)inb((uint16_t)port);
        n++;
    }
    CHECK(n > LEGACY_PORTS, "wrote and read the legacy ports and a spread of the rest");
    guest_printf("hostile-io: %u ports written and read, still running\n", n);
    return guest_report("hostile-io");
}
