/*
 * vmm-server/devices/i8042.h - a minimal 8042 keyboard controller (ports
 * 60h and 64h) with nothing plugged into it: a PC whose keyboard and mouse
 * sockets are empty. References: IBM Personal System/2 Hardware Interface
 * Technical Reference, "Keyboard/Auxiliary Device Controller" (status
 * register, controller command byte, commands 20h-3Fh, 60h-7Fh, A7h-ABh,
 * ADh, AEh, D0h-D4h, F0h-FFh, time-out handling); IBM PC AT Technical
 * Reference, "Keyboard Controller" (the AT subset: status, command byte,
 * AAh/ABh tests, output port and its F0h-FFh pulses; output-port bit 0 is
 * the CPU reset line, bit 1 the A20 gate).
 *
 * What is modelled:
 * - The controller itself answers: its command byte (CTR, internal RAM byte
 *   0) and the rest of its 32 bytes of RAM read (20h-3Fh) and written
 *   (60h-7Fh), self test AAh (55h), interface tests ABh (keyboard) and A9h
 *   (auxiliary) answering 00h (no clock or data line stuck: nothing drives
 *   them), ADh/AEh and A7h/A8h (the disable bits of the CTR), output port
 *   D0h/D1h, D2h/D3h (a byte into the output buffer as if from the keyboard /
 *   auxiliary device, the auxiliary "loop"), and the pulses F0h-FFh.
 * - It is a PS/2 controller (auxiliary port commands present) with no
 *   device on either port. A byte sent to the keyboard (a data write with no
 *   command waiting for it) or to the auxiliary device (D4h) is not clocked
 *   in by anybody: the controller reports the time-out at once (a real one
 *   after about 15 ms, too short for a guest to tell): status bit 6 set and
 *   FEh in the output buffer (with status bit 5 for the auxiliary port), as
 *   a PS/2 controller reports a transmission that timed out. Linux's i8042
 *   passes it on as SERIO_TIMEOUT and FEh, on which atkbd (a NAK) and
 *   psmouse give up at once, without waiting for their command time-outs.
 * - Transfers are instant: the input buffer is always empty (IBF never
 *   set) and a command's answer is in the output buffer when the write
 *   returns. The output buffer holds one byte; a newer answer replaces an
 *   unread one (the 8042 loads its data bus buffer whether or not the host
 *   read it).
 * - Interrupts: the output port's "output buffer full" lines, IRQ 1 for a
 *   byte from the keyboard side and IRQ 12 for one from the auxiliary side,
 *   each only while its CTR enable bit (0, 1) is set. The caller drives the
 *   PIC with i8042_irq_level() after every access.
 * - Resets: output-port bit 0 going low (D1h with bit 0 clear) or pulsed
 *   (F0h-FFh with bit 0 clear) asks for a system reset; the VMM carries it
 *   out (vm.c). A20 (output-port bit 1) is only remembered: the VM's memory
 *   never wraps at 1 MiB.
 * - Other commands (C0h input port, E0h test inputs, the password commands,
 *   ...) are ignored: no answer.
 *
 * State at power-up is what a BIOS leaves (no BIOS runs, as for the PIC and
 * the LAPIC): CTR = keyboard interrupt on, system flag (POST passed),
 * auxiliary interface disabled, scan-code translation on; output port with
 * the reset line high (not in reset) and A20 on.
 */
#ifndef VMM_DEVICES_I8042_H
#define VMM_DEVICES_I8042_H
#include <stdbool.h>
#include <stdint.h>

#define I8042_PORT_DATA       0x60
#define I8042_PORT_CMD        0x64    /* write: command; read: status */
#define I8042_IRQ_KBD         1
#define I8042_IRQ_AUX         12

/* Status register (PS/2 reference, "Status Register"). */
#define I8042_STR_OBF         0x01    /* output buffer full */
#define I8042_STR_IBF         0x02    /* input buffer full: never (instant transfers) */
#define I8042_STR_SYS         0x04    /* system flag: CTR bit 2 */
#define I8042_STR_A2          0x08    /* last write was to 64h (a command) */
#define I8042_STR_UNLOCKED    0x10    /* inhibit switch: 1 = keyboard not inhibited */
#define I8042_STR_AUXOBF      0x20    /* the output buffer's byte is from the aux side */
#define I8042_STR_TIMEOUT     0x40    /* general time-out: the last transmission failed */
#define I8042_STR_PARITY      0x80    /* parity error: never */

/* Controller command byte, internal RAM byte 0 (PS/2 reference). */
#define I8042_CTR_KBDINT      0x01    /* IRQ 1 when the output buffer fills from the keyboard */
#define I8042_CTR_AUXINT      0x02    /* IRQ 12 ... from the auxiliary device */
#define I8042_CTR_SYS         0x04    /* system flag, shown as status bit 2 */
#define I8042_CTR_KBDDIS      0x10    /* keyboard clock disabled */
#define I8042_CTR_AUXDIS      0x20    /* auxiliary clock disabled */
#define I8042_CTR_XLATE       0x40    /* scan-code translation */
#define I8042_CTR_BIOS        (I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_AUXDIS | \
                               I8042_CTR_XLATE)

/* Output port (D0h/D1h). */
#define I8042_OUT_RESET       0x01    /* CPU reset line, active low: 0 resets */
#define I8042_OUT_A20         0x02    /* A20 gate */
#define I8042_OUT_UNDEFINED   0x0C    /* bits 2-3: no defined use; kept as written */
#define I8042_OUT_KBD_OBF     0x10    /* IRQ 1 line: output buffer full (keyboard) */
#define I8042_OUT_AUX_OBF     0x20    /* IRQ 12 line: output buffer full (aux) */
#define I8042_OUT_KBD_CLOCK   0x40
#define I8042_OUT_KBD_DATA    0x80
#define I8042_OUT_STORED      (I8042_OUT_RESET | I8042_OUT_A20 | I8042_OUT_UNDEFINED | \
                               I8042_OUT_KBD_CLOCK | \
                               I8042_OUT_KBD_DATA)   /* bits 4-5 follow the buffer */
#define I8042_OUT_BIOS        (I8042_OUT_RESET | I8042_OUT_A20 | I8042_OUT_KBD_CLOCK | \
                               I8042_OUT_KBD_DATA)

/* Commands (written to 64h). */
#define I8042_CMD_READ_RAM    0x20    /* 20h-3Fh: RAM byte (cmd & 1Fh); 20h is the CTR */
#define I8042_CMD_WRITE_RAM   0x60    /* 60h-7Fh: next data byte to RAM byte (cmd & 1Fh) */
#define I8042_CMD_RAM_MASK    0x1F
#define I8042_CMD_AUX_DISABLE 0xA7
#define I8042_CMD_AUX_ENABLE  0xA8
#define I8042_CMD_AUX_TEST    0xA9
#define I8042_CMD_SELF_TEST   0xAA
#define I8042_CMD_KBD_TEST    0xAB
#define I8042_CMD_KBD_DISABLE 0xAD
#define I8042_CMD_KBD_ENABLE  0xAE
#define I8042_CMD_READ_OUT    0xD0
#define I8042_CMD_WRITE_OUT   0xD1    /* next data byte to the output port */
#define I8042_CMD_WRITE_KBD_OBUF 0xD2 /* next data byte into the buffer, as from the keyboard */
#define I8042_CMD_WRITE_AUX_OBUF 0xD3 /* ... as from the auxiliary device */
#define I8042_CMD_WRITE_AUX   0xD4    /* next data byte to the auxiliary device */
#define I8042_CMD_PULSE       0xF0    /* F0h-FFh: pulse output-port bits 3:0 that are 0 */
#define I8042_PULSE_LINES     0x0F

/* Answers. */
#define I8042_SELF_TEST_OK    0x55
#define I8042_IFACE_TEST_OK   0x00    /* no clock or data line stuck */
#define I8042_NO_DEVICE       0xFE    /* with I8042_STR_TIMEOUT: nothing clocked the byte in */

#define I8042_RAM_BYTES       32

typedef struct {
    uint8_t ram[I8042_RAM_BYTES];   /* ram[0]: the CTR */
    uint8_t out_port;               /* I8042_OUT_STORED bits */
    uint8_t obuf;                   /* the output buffer (reads back once read) */
    uint8_t status;                 /* OBF, A2, AUXOBF, TIMEOUT; the rest computed */
    uint8_t pending;                /* a command waiting for its data byte, or 0 */
} i8042_t;

typedef enum { I8042_NOT_MINE, I8042_DONE, I8042_RESET } i8042_result_t;

void i8042_init(i8042_t *k);
/* A byte access (@in: read into *value, else write *value). I8042_RESET:
 * the write asked for a system reset. */
i8042_result_t i8042_io(i8042_t *k, uint16_t port, bool in, uint8_t *value);
/* The level of the controller's IRQ @irq line (I8042_IRQ_KBD or
 * I8042_IRQ_AUX; false for any other). */
bool i8042_irq_level(const i8042_t *k, unsigned irq);

#endif
