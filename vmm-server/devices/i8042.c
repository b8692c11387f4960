/*
 * vmm-server/devices/i8042.c - a minimal 8042 keyboard controller with no
 * keyboard and no auxiliary device (i8042.h; IBM PS/2 Hardware Interface
 * Technical Reference, "Keyboard/Auxiliary Device Controller"; IBM PC AT
 * Technical Reference, "Keyboard Controller").
 */
#include "i8042.h"
#include <string.h>

void i8042_init(i8042_t *k)
{
    memset(k, 0, sizeof(*k));
    k->ram[0] = I8042_CTR_BIOS;
    k->out_port = I8042_OUT_BIOS;
}

/* A byte into the output buffer: OBF, and AUXOBF when it comes from the
 * auxiliary side (PS/2 reference, status bit 5). The time-out bit goes
 * with the byte it explains, so a new byte clears it. */
static void put(i8042_t *k, uint8_t byte, bool aux)
{
    k->obuf = byte;
    k->status = (uint8_t)((k->status & I8042_STR_A2) | I8042_STR_OBF |
                          (aux ? I8042_STR_AUXOBF : 0));
}

/* A byte sent to a device that is not there: no clock from it, so the
 * transmission times out (status bit 6) and FEh is put in the buffer
 * (i8042.h: the choice and why). */
static void send_to_nobody(i8042_t *k, bool aux)
{
    put(k, I8042_NO_DEVICE, aux);
    k->status |= I8042_STR_TIMEOUT;
}

static uint8_t status(const i8042_t *k)
{
    return (uint8_t)(k->status | I8042_STR_UNLOCKED | (k->ram[0] & I8042_CTR_SYS));
}

/* The output port as D0h reads it: bits 4-5 are the buffer's two
 * "output buffer full" lines (PS/2 reference, "Output Port"). */
static uint8_t out_port(const i8042_t *k)
{
    uint8_t v = k->out_port;
    if (k->status & I8042_STR_OBF)
        v |= (k->status & I8042_STR_AUXOBF) ? I8042_OUT_AUX_OBF : I8042_OUT_KBD_OBF;
    return v;
}

static i8042_result_t command(i8042_t *k, uint8_t cmd)
{
    k->pending = 0;                     /* a command ends one waiting for its data */
    if (cmd >= I8042_CMD_READ_RAM && cmd <= (I8042_CMD_READ_RAM | I8042_CMD_RAM_MASK)) {
        put(k, k->ram[cmd & I8042_CMD_RAM_MASK], false);
        return I8042_DONE;
    }
    if (cmd >= I8042_CMD_PULSE) {
        /* F0h-FFh: each of output-port bits 3:0 that is 0 in the command is
         * pulsed low for about 6 us; bit 0 is the CPU reset (AT reference). */
        return (cmd & I8042_OUT_RESET) ? I8042_DONE : I8042_RESET;
    }
    switch (cmd) {
    case I8042_CMD_AUX_DISABLE:
        k->ram[0] |= I8042_CTR_AUXDIS;
        break;
    case I8042_CMD_AUX_ENABLE:
        k->ram[0] &= (uint8_t)~I8042_CTR_AUXDIS;
        break;
    case I8042_CMD_KBD_DISABLE:
        k->ram[0] |= I8042_CTR_KBDDIS;
        break;
    case I8042_CMD_KBD_ENABLE:
        k->ram[0] &= (uint8_t)~I8042_CTR_KBDDIS;
        break;
    case I8042_CMD_SELF_TEST:
        put(k, I8042_SELF_TEST_OK, false);
        break;
    case I8042_CMD_KBD_TEST:
    case I8042_CMD_AUX_TEST:
        put(k, I8042_IFACE_TEST_OK, false);
        break;
    case I8042_CMD_READ_OUT:
        put(k, out_port(k), false);
        break;
    default:
        if ((cmd >= I8042_CMD_WRITE_RAM && cmd <= (I8042_CMD_WRITE_RAM | I8042_CMD_RAM_MASK)) ||
            (cmd >= I8042_CMD_WRITE_OUT && cmd <= I8042_CMD_WRITE_AUX))
            k->pending = cmd;           /* the next data byte is its argument */
        break;                          /* others: ignored (i8042.h) */
    }
    return I8042_DONE;
}

static i8042_result_t data(i8042_t *k, uint8_t v)
{
    uint8_t cmd = k->pending;
    k->pending = 0;
    if (cmd >= I8042_CMD_WRITE_RAM && cmd <= (I8042_CMD_WRITE_RAM | I8042_CMD_RAM_MASK)) {
        k->ram[cmd & I8042_CMD_RAM_MASK] = v;
        return I8042_DONE;
    }
    switch (cmd) {
    case I8042_CMD_WRITE_OUT:
        /* Bit 0 drives the CPU's reset, active low (AT reference). */
        k->out_port = v & I8042_OUT_STORED;
        return (v & I8042_OUT_RESET) ? I8042_DONE : I8042_RESET;
    case I8042_CMD_WRITE_KBD_OBUF:
        put(k, v, false);
        return I8042_DONE;
    case I8042_CMD_WRITE_AUX_OBUF:
        put(k, v, true);
        return I8042_DONE;
    case I8042_CMD_WRITE_AUX:
        send_to_nobody(k, true);
        return I8042_DONE;
    default:                            /* no command waiting: a byte for the keyboard */
        send_to_nobody(k, false);
        return I8042_DONE;
    }
}

i8042_result_t i8042_io(i8042_t *k, uint16_t port, bool in, uint8_t *value)
{
    if (port == I8042_PORT_CMD) {
        if (in) {
            *value = status(k);
            return I8042_DONE;
        }
        k->status |= I8042_STR_A2;
        return command(k, *value);
    }
    if (port != I8042_PORT_DATA)
        return I8042_NOT_MINE;
    if (in) {
        /* Reading takes the byte; the buffer keeps it (reads again). */
        *value = k->obuf;
        k->status &= (uint8_t)~(I8042_STR_OBF | I8042_STR_AUXOBF);
        return I8042_DONE;
    }
    k->status &= (uint8_t)~I8042_STR_A2;
    return data(k, *value);
}

bool i8042_irq_level(const i8042_t *k, unsigned irq)
{
    if (!(k->status & I8042_STR_OBF))
        return false;
    bool aux = k->status & I8042_STR_AUXOBF;
    if (irq == I8042_IRQ_KBD)
        return !aux && (k->ram[0] & I8042_CTR_KBDINT);
    if (irq == I8042_IRQ_AUX)
        return aux && (k->ram[0] & I8042_CTR_AUXINT);
    return false;
}
