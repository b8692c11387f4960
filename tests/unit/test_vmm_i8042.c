/*
 * tests/unit/test_vmm_i8042.c - the 8042 keyboard controller model
 * (vmm-server/devices/i8042.c): status, command byte, the controller's
 * tests, output port and resets, bytes sent to the absent keyboard and
 * auxiliary device, the IRQ 1 / IRQ 12 lines, Linux's i8042 probe
 * sequence, and hostile traffic.
 */
#include "unit.h"
#include "../../vmm-server/devices/i8042.h"
#include <stdint.h>

static i8042_result_t kb_out(i8042_t *k, uint16_t port, uint8_t v)
{
    return i8042_io(k, port, false, &v);
}

static uint8_t kb_in(i8042_t *k, uint16_t port)
{
    uint8_t v = 0;
    CU_ASSERT_EQUAL(i8042_io(k, port, true, &v), I8042_DONE);
    return v;
}

static uint8_t kb_status(i8042_t *k)
{
    return kb_in(k, I8042_PORT_CMD);
}

/* A command whose answer is one byte: it must be waiting in the buffer. */
static uint8_t kb_ask(i8042_t *k, uint8_t cmd)
{
    CU_ASSERT_EQUAL(kb_out(k, I8042_PORT_CMD, cmd), I8042_DONE);
    uint8_t st = kb_status(k);
    CU_ASSERT_TRUE(st & I8042_STR_OBF);
    CU_ASSERT_FALSE(st & (I8042_STR_AUXOBF | I8042_STR_TIMEOUT));
    uint8_t v = kb_in(k, I8042_PORT_DATA);
    CU_ASSERT_FALSE(kb_status(k) & I8042_STR_OBF);
    return v;
}

/* A command with a data byte. */
static i8042_result_t kb_cmd_data(i8042_t *k, uint8_t cmd, uint8_t v)
{
    CU_ASSERT_EQUAL(kb_out(k, I8042_PORT_CMD, cmd), I8042_DONE);
    return kb_out(k, I8042_PORT_DATA, v);
}

static void test_power_up(void)
{
    i8042_t k;
    i8042_init(&k);
    uint8_t st = kb_status(&k);
    CU_ASSERT_EQUAL(st & (I8042_STR_OBF | I8042_STR_IBF), 0);      /* nothing waiting */
    CU_ASSERT_TRUE(st & I8042_STR_SYS);                              /* POST passed */
    CU_ASSERT_TRUE(st & I8042_STR_UNLOCKED);
    CU_ASSERT_FALSE(st & (I8042_STR_TIMEOUT | I8042_STR_PARITY | I8042_STR_AUXOBF));
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_KBD));
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_AUX));
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), I8042_CTR_BIOS);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_OUT), I8042_OUT_BIOS);
    /* A2 follows the last write's port. */
    CU_ASSERT_TRUE(kb_status(&k) & I8042_STR_A2);
    uint8_t other = 0;
    CU_ASSERT_EQUAL(i8042_io(&k, 0x61, true, &other), I8042_NOT_MINE);
    CU_ASSERT_EQUAL(i8042_io(&k, 0x65, false, &other), I8042_NOT_MINE);
}

static void test_command_byte_and_ram(void)
{
    i8042_t k;
    i8042_init(&k);
    CU_ASSERT_EQUAL(kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_XLATE), I8042_DONE);
    CU_ASSERT_FALSE(kb_status(&k) & I8042_STR_A2);                  /* last write: data */
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), I8042_CTR_XLATE);
    CU_ASSERT_FALSE(kb_status(&k) & I8042_STR_SYS);                 /* CTR bit 2 shown */
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_SYS);
    CU_ASSERT_TRUE(kb_status(&k) & I8042_STR_SYS);
    /* The other RAM bytes: 61h-7Fh / 21h-3Fh. */
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM | 0x05, 0xA5);
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM | I8042_CMD_RAM_MASK, 0x3C);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM | 0x05), 0xA5);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM | I8042_CMD_RAM_MASK), 0x3C);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), I8042_CTR_SYS);
    /* A command in between ends the wait for the data byte: that byte then
     * goes to the (absent) keyboard, not to the CTR. */
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_WRITE_RAM);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_KBD_ENABLE);
    kb_out(&k, I8042_PORT_DATA, 0x77);
    CU_ASSERT_EQUAL(kb_status(&k) & I8042_STR_TIMEOUT, I8042_STR_TIMEOUT);
    kb_in(&k, I8042_PORT_DATA);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), I8042_CTR_SYS);
}

static void test_tests_and_enables(void)
{
    i8042_t k;
    i8042_init(&k);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_SELF_TEST), I8042_SELF_TEST_OK);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_KBD_TEST), I8042_IFACE_TEST_OK);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_AUX_TEST), I8042_IFACE_TEST_OK);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_KBD_DISABLE);
    CU_ASSERT_TRUE(kb_ask(&k, I8042_CMD_READ_RAM) & I8042_CTR_KBDDIS);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_KBD_ENABLE);
    CU_ASSERT_FALSE(kb_ask(&k, I8042_CMD_READ_RAM) & I8042_CTR_KBDDIS);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_AUX_ENABLE);
    CU_ASSERT_FALSE(kb_ask(&k, I8042_CMD_READ_RAM) & I8042_CTR_AUXDIS);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_AUX_DISABLE);
    uint8_t ctr = kb_ask(&k, I8042_CMD_READ_RAM);
    CU_ASSERT_TRUE(ctr & I8042_CTR_AUXDIS);
    CU_ASSERT_EQUAL(ctr & ~I8042_CTR_AUXDIS, I8042_CTR_BIOS & ~I8042_CTR_AUXDIS);
    /* Commands the model does not implement answer nothing. */
    kb_out(&k, I8042_PORT_CMD, 0xC0);
    CU_ASSERT_FALSE(kb_status(&k) & I8042_STR_OBF);
}

static void test_output_port_and_resets(void)
{
    i8042_t k;
    i8042_init(&k);
    /* A20 off and back on: read back, no reset (bit 0 kept high). */
    CU_ASSERT_EQUAL(kb_cmd_data(&k, I8042_CMD_WRITE_OUT, I8042_OUT_RESET), I8042_DONE);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_OUT), I8042_OUT_RESET);
    CU_ASSERT_EQUAL(kb_cmd_data(&k, I8042_CMD_WRITE_OUT, I8042_OUT_RESET | I8042_OUT_A20),
                    I8042_DONE);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_OUT), I8042_OUT_RESET | I8042_OUT_A20);
    /* Bits 4-5 are the buffer's lines, not stored. */
    kb_cmd_data(&k, I8042_CMD_WRITE_OUT, 0xFF);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_OUT), I8042_OUT_STORED);
    kb_cmd_data(&k, I8042_CMD_WRITE_KBD_OBUF, 0x11);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_READ_OUT);     /* sees the full buffer, then answers */
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), I8042_OUT_STORED | I8042_OUT_KBD_OBF);
    kb_cmd_data(&k, I8042_CMD_WRITE_AUX_OBUF, 0x11);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_READ_OUT);
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), I8042_OUT_STORED | I8042_OUT_AUX_OBF);
    /* Bit 0 low: the CPU reset line. */
    CU_ASSERT_EQUAL(kb_cmd_data(&k, I8042_CMD_WRITE_OUT, I8042_OUT_A20), I8042_RESET);
    /* Pulses: bit 0 clear in the command pulses the reset line. */
    i8042_init(&k);
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_CMD, 0xFF), I8042_DONE);   /* pulses nothing */
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_CMD, 0xFD), I8042_DONE);   /* line 1 only */
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_CMD, 0xFE), I8042_RESET);
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_CMD, 0xF0), I8042_RESET);
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_CMD, 0xF1), I8042_DONE);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_OUT), I8042_OUT_BIOS);  /* pulses store nothing */
}

static void test_absent_devices(void)
{
    i8042_t k;
    i8042_init(&k);
    /* A byte for the keyboard (GET ID): time-out and FEh, on IRQ 1. */
    CU_ASSERT_EQUAL(kb_out(&k, I8042_PORT_DATA, 0xF2), I8042_DONE);
    uint8_t st = kb_status(&k);
    CU_ASSERT_EQUAL(st & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXOBF | I8042_STR_IBF),
                    I8042_STR_OBF | I8042_STR_TIMEOUT);
    CU_ASSERT_TRUE(i8042_irq_level(&k, I8042_IRQ_KBD));
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_AUX));
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), I8042_NO_DEVICE);
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_KBD));
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), I8042_NO_DEVICE);   /* the buffer keeps it */
    /* To the auxiliary device: with AUXOBF, on IRQ 12 once enabled. */
    CU_ASSERT_EQUAL(kb_cmd_data(&k, I8042_CMD_WRITE_AUX, 0xFF), I8042_DONE);
    st = kb_status(&k);
    CU_ASSERT_EQUAL(st & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXOBF),
                    I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXOBF);
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_AUX));            /* AUXINT off at power-up */
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_KBD));
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_BIOS | I8042_CTR_AUXINT);
    /* The CTR write was a controller transfer: the buffer still holds FEh. */
    CU_ASSERT_TRUE(i8042_irq_level(&k, I8042_IRQ_AUX));
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), I8042_NO_DEVICE);
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_AUX));
    /* A new byte clears the time-out bit: it explained the old one. */
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_SELF_TEST), I8042_SELF_TEST_OK);
}

static void test_irq_lines(void)
{
    i8042_t k;
    i8042_init(&k);
    /* Command answers are keyboard-side bytes: IRQ 1 while CTR bit 0. */
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_SELF_TEST);
    CU_ASSERT_TRUE(i8042_irq_level(&k, I8042_IRQ_KBD));
    kb_in(&k, I8042_PORT_DATA);
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_SYS);             /* both interrupts off */
    kb_cmd_data(&k, I8042_CMD_WRITE_KBD_OBUF, 0x1C);
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_KBD));
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_SYS | I8042_CTR_KBDINT);
    CU_ASSERT_TRUE(i8042_irq_level(&k, I8042_IRQ_KBD));             /* enabled while full */
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), 0x1C);
    kb_cmd_data(&k, I8042_CMD_WRITE_AUX_OBUF, 0x5A);
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_KBD));
    CU_ASSERT_FALSE(i8042_irq_level(&k, I8042_IRQ_AUX));
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, I8042_CTR_SYS | I8042_CTR_AUXINT);
    CU_ASSERT_TRUE(i8042_irq_level(&k, I8042_IRQ_AUX));
    CU_ASSERT_FALSE(i8042_irq_level(&k, 0));
    CU_ASSERT_FALSE(i8042_irq_level(&k, 2));
    CU_ASSERT_TRUE(kb_status(&k) & I8042_STR_AUXOBF);
    CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), 0x5A);
    CU_ASSERT_FALSE(kb_status(&k) & (I8042_STR_AUXOBF | I8042_STR_OBF));
}

/* What Linux's i8042 driver does at boot (drivers/input/serio/i8042.c:
 * flush, self test, CTR read twice, CTR write, the AUX loop and MUX
 * probes with D3h, AUX disable/enable checked in the CTR), each answered
 * at once. */
static void test_linux_probe(void)
{
    i8042_t k;
    i8042_init(&k);
    CU_ASSERT_FALSE(kb_status(&k) & I8042_STR_OBF);                 /* flush: nothing */
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_SELF_TEST), I8042_SELF_TEST_OK);
    uint8_t ctr = kb_ask(&k, I8042_CMD_READ_RAM);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), ctr);
    ctr = (uint8_t)((ctr & ~I8042_CTR_KBDINT) | I8042_CTR_KBDDIS);
    kb_cmd_data(&k, I8042_CMD_WRITE_RAM, ctr);
    CU_ASSERT_EQUAL(kb_ask(&k, I8042_CMD_READ_RAM), ctr);
    static const uint8_t loops[] = { 0x5A, 0xF0, 0x56, 0xA4, 0xA5 };
    for (unsigned i = 0; i < sizeof(loops); i++) {
        kb_cmd_data(&k, I8042_CMD_WRITE_AUX_OBUF, loops[i]);
        uint8_t st = kb_status(&k);
        CU_ASSERT_EQUAL(st & (I8042_STR_OBF | I8042_STR_AUXOBF | I8042_STR_TIMEOUT),
                        I8042_STR_OBF | I8042_STR_AUXOBF);
        CU_ASSERT_EQUAL(kb_in(&k, I8042_PORT_DATA), loops[i]);
    }
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_AUX_DISABLE);
    CU_ASSERT_TRUE(kb_ask(&k, I8042_CMD_READ_RAM) & I8042_CTR_AUXDIS);
    kb_out(&k, I8042_PORT_CMD, I8042_CMD_AUX_ENABLE);
    CU_ASSERT_FALSE(kb_ask(&k, I8042_CMD_READ_RAM) & I8042_CTR_AUXDIS);
}

/* A small deterministic PRNG (xorshift32) for the hostile traffic. */
static uint32_t kb_rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void test_hostile(void)
{
    i8042_t k;
    i8042_init(&k);
    unsigned resets = 0, foreign = 0;
    /* Every command with every data byte after it. */
    for (unsigned cmd = 0; cmd < 256; cmd++)
        for (unsigned b = 0; b < 256; b++) {
            uint8_t c = (uint8_t)cmd, v = (uint8_t)b;
            resets += i8042_io(&k, I8042_PORT_CMD, false, &c) == I8042_RESET;
            resets += i8042_io(&k, I8042_PORT_DATA, false, &v) == I8042_RESET;
            uint8_t st = kb_status(&k);
            CU_ASSERT_FALSE(st & (I8042_STR_IBF | I8042_STR_PARITY));
            CU_ASSERT_TRUE(st & I8042_STR_UNLOCKED);
            if (!(st & I8042_STR_OBF))
                CU_ASSERT_FALSE(st & I8042_STR_AUXOBF);
        }
    CU_ASSERT_TRUE(resets > 0);                 /* F0h-FEh and D1h with bit 0 clear */
    /* Random traffic on random ports near the controller's. */
    uint32_t seed = 0x8042u;
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t r = kb_rnd(&seed);
        uint16_t port = (uint16_t)(0x5E + (r & 7));
        uint8_t v = (uint8_t)(r >> 8);
        i8042_result_t res = i8042_io(&k, port, (r >> 16) & 1, &v);
        if (port != I8042_PORT_DATA && port != I8042_PORT_CMD) {
            CU_ASSERT_EQUAL(res, I8042_NOT_MINE);
            foreign++;
        }
        CU_ASSERT_FALSE(kb_status(&k) & I8042_STR_IBF);
    }
    CU_ASSERT_TRUE(foreign > 0);
}

UNIT_SUITE(vmm_i8042_suite)
{
    CU_pSuite s = CU_add_suite("vmm 8042 keyboard controller", NULL, NULL);
    CU_add_test(s, "power-up: empty buffers, SYS, BIOS command byte", test_power_up);
    CU_add_test(s, "command byte and RAM 20h-3Fh / 60h-7Fh", test_command_byte_and_ram);
    CU_add_test(s, "AAh/ABh/A9h tests, ADh/AEh/A7h/A8h", test_tests_and_enables);
    CU_add_test(s, "output port D0h/D1h, reset line, F0h-FFh pulses", test_output_port_and_resets);
    CU_add_test(s, "no keyboard, no aux device: time-out and FEh", test_absent_devices);
    CU_add_test(s, "IRQ 1 / IRQ 12 only as the CTR enables", test_irq_lines);
    CU_add_test(s, "Linux's i8042 probe sequence", test_linux_probe);
    CU_add_test(s, "hostile: every command and data byte, random traffic", test_hostile);
}
