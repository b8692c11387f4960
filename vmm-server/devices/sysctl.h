/*
 * vmm-server/devices/sysctl.h - the PC's system-control ports: System
 * Control Port A (92h), the Reset Control Register (CF9h) and the POST
 * code port (80h). References: Intel I/O Controller Hub (ICH) datasheets,
 * "Port 92h" (bit 0 INIT_NOW / fast reset, bit 1 ALT_A20_GATE) and "CF9h
 * Reset Control Register" (bit 1 SYS_RST, bit 2 RST_CPU, bit 3 FULL_RST).
 * The 8042 keyboard controller, whose output port also resets, is
 * i8042.h.
 *
 * Pure model: an access says whether it asked for a system reset; the VMM
 * carries the reset out (vm.c). A20 is only remembered: the VM's memory
 * never wraps at 1 MiB (the gate is always open).
 */
#ifndef VMM_DEVICES_SYSCTL_H
#define VMM_DEVICES_SYSCTL_H
#include <stdbool.h>
#include <stdint.h>

#define SYSCTL_PORT_POST      0x80
#define SYSCTL_PORT_A         0x92
#define SYSCTL_PORT_RESET     0xCF9

/* Port 92h. */
#define SYSCTL_A_FAST_RESET   0x01    /* 0 -> 1 resets the CPU */
#define SYSCTL_A_A20          0x02    /* alternate A20 gate: read back only */
#define SYSCTL_A_RESET        SYSCTL_A_A20   /* as a loader leaves it: A20 on */

/* CF9h. */
#define SYSCTL_CF9_SYS_RST    0x02
#define SYSCTL_CF9_RST_CPU    0x04    /* 0 -> 1 resets (hard with SYS_RST: 06h, 0Eh) */
#define SYSCTL_CF9_FULL_RST   0x08
#define SYSCTL_CF9_KEPT       (SYSCTL_CF9_SYS_RST | SYSCTL_CF9_FULL_RST)

typedef struct {
    uint8_t port_a;       /* port 92h */
    uint8_t reset_ctl;    /* CF9h */
} sysctl_t;

typedef enum { SYSCTL_NOT_MINE, SYSCTL_DONE, SYSCTL_RESET } sysctl_result_t;

void sysctl_init(sysctl_t *c);
/* A byte access (@in: read into *value, else write *value). SYSCTL_RESET:
 * the write asked for a system reset. Port 80h is accepted and dropped (reads
 * as all ones, no device latches it). */
sysctl_result_t sysctl_io(sysctl_t *c, uint16_t port, bool in, uint8_t *value);

#endif
