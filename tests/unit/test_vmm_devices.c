/*
 * tests/unit/test_vmm_devices.c - the VMM's legacy PC device models
 * (vmm-server/devices): 8259A PIC pair, 8254 PIT, MC146818 RTC, local APIC,
 * the system-control ports (92h, CF9h, 80h); the 8042 is test_vmm_i8042.c.
 * One suite per device; each ends with hostile-input tests (every port or
 * offset, every byte, random sequences) that must not trip ASan/UBSan.
 */
#include "unit.h"
#include "devices/lapic.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc.h"
#include "devices/sysctl.h"
#include <stdint.h>
#include <string.h>

/* A small deterministic PRNG (xorshift64) for the hostile-input tests. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* ============================== 8259A PIC ============================== */

static void pic_out(pic_t *p, uint16_t port, uint8_t v)
{
    CU_ASSERT_TRUE(pic_io(p, port, false, &v));
}

static uint8_t pic_in(pic_t *p, uint16_t port)
{
    uint8_t v = 0;
    CU_ASSERT_TRUE(pic_io(p, port, true, &v));
    return v;
}

/* The sequence Linux (init_8259A) and our guests use. */
static void pic_setup(pic_t *p)
{
    pic_init(p);
    pic_out(p, PIC_MASTER_CMD, 0x11);   /* ICW1: edge, cascade, ICW4 */
    pic_out(p, PIC_MASTER_DATA, 0x20);  /* ICW2: vectors 0x20-0x27 */
    pic_out(p, PIC_MASTER_DATA, 0x04);  /* ICW3: slave on IR2 */
    pic_out(p, PIC_MASTER_DATA, 0x01);  /* ICW4: 8086 mode */
    pic_out(p, PIC_SLAVE_CMD, 0x11);
    pic_out(p, PIC_SLAVE_DATA, 0x28);
    pic_out(p, PIC_SLAVE_DATA, 0x02);   /* ICW3: slave ID 2 */
    pic_out(p, PIC_SLAVE_DATA, 0x01);
}

static void pulse(pic_t *p, unsigned irq)
{
    pic_set_irq(p, irq, true);
    pic_set_irq(p, irq, false);
}

static void test_pic_reset_state(void)
{
    pic_t p;
    pic_init(&p);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0xFF);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_SLAVE_DATA), 0xFF);
    pulse(&p, 0);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);   /* masked */
    pic_out(&p, PIC_MASTER_DATA, 0xFE);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), PIC_RESET_MASTER_BASE);
    CU_ASSERT_EQUAL(pic_ack(&p), PIC_RESET_MASTER_BASE);
    CU_ASSERT_EQUAL(pic_ack(&p), -1);
}

static void test_pic_linux_init(void)
{
    pic_t p;
    pic_setup(&p);
    /* ICW1 clears the IMR. */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0x00);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_SLAVE_DATA), 0x00);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].init_step, 0);
    CU_ASSERT_EQUAL(p.chip[PIC_SLAVE].init_step, 0);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pulse(&p, 0);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x20);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x20);
    pulse(&p, 15);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);  /* IR0 in service blocks IR2 */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x2F);
    /* After init, the data port is OCW1 again. */
    pic_out(&p, PIC_MASTER_DATA, 0x5A);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0x5A);
}

static void test_pic_icw2_low_bits_ignored(void)
{
    pic_t p;
    pic_init(&p);
    pic_out(&p, PIC_MASTER_CMD, 0x11);
    pic_out(&p, PIC_MASTER_DATA, 0x37);   /* T2-T0 ignored in 8086 mode */
    pic_out(&p, PIC_MASTER_DATA, 0x04);
    pic_out(&p, PIC_MASTER_DATA, 0x01);
    pulse(&p, 3);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x33);
}

static void test_pic_icw_sequence_variants(void)
{
    pic_t p;
    pic_init(&p);
    /* Single mode, no ICW4: ICW2 completes the sequence. */
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_ICW1 | PIC_ICW1_SNGL);
    pic_out(&p, PIC_MASTER_DATA, 0x40);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].init_step, 0);
    pic_out(&p, PIC_MASTER_DATA, 0xFD);       /* OCW1 */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0xFD);
    pulse(&p, 1);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x41);
    /* Cascade without ICW4: ICW3 completes it, ICW4 functions are zero. */
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_ICW1);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].isr, 0);
    pic_out(&p, PIC_MASTER_DATA, 0x50);
    pic_out(&p, PIC_MASTER_DATA, 0x04);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].init_step, 0);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].icw4, 0);
    pic_out(&p, PIC_MASTER_DATA, 0x00);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0x00);
}

static void test_pic_masking(void)
{
    pic_t p;
    pic_setup(&p);
    pic_out(&p, PIC_MASTER_DATA, 0xFE);         /* only IRQ0 */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0xFE);
    pulse(&p, 1);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pulse(&p, 0);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x20);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    /* The masked request stays in the IRR and fires when unmasked. */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_IRR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x02);
    pic_out(&p, PIC_MASTER_DATA, 0x00);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x21);
}

static void test_pic_fixed_priority(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 3);
    pulse(&p, 1);
    pulse(&p, 6);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x21);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x21);
    /* IR1 in service blocks the lower IR3 and IR6 ... */
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    /* ... but not the higher IR0 (nesting). */
    pulse(&p, 0);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x20);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_ISR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x03);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);     /* clears IR0, the highest */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x02);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);   /* IR1 still in service */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x26);
}

static void test_pic_equal_priority_blocked(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 4);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x24);
    pulse(&p, 4);                                  /* same level again */
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x24);
}

static void test_pic_specific_eoi(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 5);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x25);
    pulse(&p, 2 + 1);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_SPECIFIC_EOI | 5);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_ISR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x08);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_SPECIFIC_EOI | 3);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);
    /* EOI with nothing in service is harmless. */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);
}

static void test_pic_cascade(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 10);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x2A);
    /* Slave requests enter at master IR2's priority: IR1 beats them, IR3 not. */
    pulse(&p, 3);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x2A);
    pulse(&p, 1);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x21);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x21);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x2A);
    /* The INTA set the ISR bit on both chips. */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_ISR);
    pic_out(&p, PIC_SLAVE_CMD, PIC_OCW3_READ_ISR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x04);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_SLAVE_CMD), 0x04);
    /* Master IR2 in service blocks every slave request and IR3. */
    pulse(&p, 9);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_out(&p, PIC_SLAVE_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x29);
    pic_out(&p, PIC_SLAVE_CMD, PIC_OCW2_EOI);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
}

static void test_pic_cascade_masks(void)
{
    pic_t p;
    pic_setup(&p);
    pic_out(&p, PIC_MASTER_DATA, 1u << PIC_CASCADE_IRQ);  /* mask the slave */
    pulse(&p, 14);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_out(&p, PIC_MASTER_DATA, 0);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x2E);
    pic_out(&p, PIC_SLAVE_DATA, 0x40);                    /* mask IRQ14 */
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pulse(&p, 8);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x28);
    /* The master's IRR shows the slave's INT on bit 2 while it asserts it. */
    pic_out(&p, PIC_SLAVE_DATA, 0x00);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_IRR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);   /* IRQ8 in service on the slave */
    pic_out(&p, PIC_SLAVE_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x04);
    pic_set_irq(&p, 2, true);                             /* the cascade line is not an input */
    pic_out(&p, PIC_SLAVE_DATA, 0xFF);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);
}

static void test_pic_irr_isr_reads(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 1);
    pulse(&p, 4);
    pulse(&p, 12);
    /* After ICW1 command-port reads give the IRR. */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x12 | 0x04);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_SLAVE_CMD), 0x10);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x21);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_ISR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x02);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x02);   /* the selection persists */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_IRR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x14);   /* IR4 and the slave; IR1 moved */
    /* OCW3 without RR keeps the selection. */
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_OCW3 | PIC_OCW3_RIS);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x14);
    /* The data port still reads the IMR. */
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_DATA), 0x00);
}

static void test_pic_edge_triggered(void)
{
    pic_t p;
    pic_setup(&p);
    pic_set_irq(&p, 3, true);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    /* Still high: no new edge, no new request. */
    pic_set_irq(&p, 3, true);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_set_irq(&p, 3, false);
    pic_set_irq(&p, 3, true);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x23);
    /* A request latched by an edge survives the line falling. */
    pic_set_irq(&p, 3, false);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
    /* Out-of-range lines are ignored. */
    pic_set_irq(&p, 16, true);
    pic_set_irq(&p, 0xFFFFFFFFu, true);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_EOI);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
}

static void test_pic_reinit_needs_new_edge(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 6);
    pic_set_irq(&p, 7, true);
    pic_setup(&p);                           /* pic_init resets line levels too */
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_set_irq(&p, 7, true);
    pic_out(&p, PIC_MASTER_CMD, 0x11);       /* ICW1 clears IRR, keeps the line high */
    pic_out(&p, PIC_MASTER_DATA, 0x20);
    pic_out(&p, PIC_MASTER_DATA, 0x04);
    pic_out(&p, PIC_MASTER_DATA, 0x01);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_set_irq(&p, 7, true);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    pic_set_irq(&p, 7, false);
    pic_set_irq(&p, 7, true);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), 0x27);
}

static void test_pic_auto_eoi(void)
{
    pic_t p;
    pic_init(&p);
    pic_out(&p, PIC_MASTER_CMD, 0x11);
    pic_out(&p, PIC_MASTER_DATA, 0x30);
    pic_out(&p, PIC_MASTER_DATA, 0x04);
    pic_out(&p, PIC_MASTER_DATA, PIC_ICW4_UPM | PIC_ICW4_AEOI);
    pulse(&p, 5);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x35);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW3_READ_ISR);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);
    pulse(&p, 6);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x36);       /* nothing blocks without EOI */
    /* Rotate in AEOI mode: the serviced level becomes the lowest. */
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_ROTATE_AEOI_SET);
    pulse(&p, 1);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x31);
    pulse(&p, 1);
    pulse(&p, 4);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x34);       /* IR1 now has the lowest priority */
    CU_ASSERT_EQUAL(pic_ack(&p), 0x31);
}

static void test_pic_rotation_and_priority(void)
{
    pic_t p;
    pic_setup(&p);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_SET_PRIORITY | 4);  /* IR5 highest */
    pulse(&p, 1);
    pulse(&p, 6);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x26);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_ROTATE_EOI);     /* IR6 becomes the lowest */
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].lowest, 6);
    pulse(&p, 6);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x21);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_ROTATE_SPECIFIC_EOI | 1);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].lowest, 1);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x26);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_NOP);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].isr, 0x40);
}

static void test_pic_poll(void)
{
    pic_t p;
    pic_setup(&p);
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_OCW3 | PIC_OCW3_POLL);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);   /* nothing pending */
    pulse(&p, 5);
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_OCW3 | PIC_OCW3_POLL);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), PIC_POLL_INT | 5);
    CU_ASSERT_EQUAL(p.chip[PIC_MASTER].isr, 0x20);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_MASTER_CMD), 0x00);   /* back to reading the IRR */
    pulse(&p, 11);
    pic_out(&p, PIC_SLAVE_CMD, PIC_CMD_OCW3 | PIC_OCW3_POLL);
    CU_ASSERT_EQUAL(pic_in(&p, PIC_SLAVE_CMD), PIC_POLL_INT | 3);
}

static void test_pic_special_mask_mode(void)
{
    pic_t p;
    pic_setup(&p);
    pulse(&p, 3);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x23);
    pulse(&p, 5);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
    /* Mask IR3 and enter special mask mode: lower levels get through. */
    pic_out(&p, PIC_MASTER_DATA, 0x08);
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_OCW3 | PIC_OCW3_ESMM | PIC_OCW3_SMM);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x25);
    pic_out(&p, PIC_MASTER_CMD, PIC_OCW2_SPECIFIC_EOI | 5);
    pic_out(&p, PIC_MASTER_CMD, PIC_CMD_OCW3 | PIC_OCW3_ESMM);   /* reset SMM */
    pulse(&p, 6);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
}

static void test_pic_sfnm(void)
{
    pic_t p;
    pic_setup(&p);
    pic_out(&p, PIC_MASTER_CMD, 0x11);
    pic_out(&p, PIC_MASTER_DATA, 0x20);
    pic_out(&p, PIC_MASTER_DATA, 0x04);
    pic_out(&p, PIC_MASTER_DATA, PIC_ICW4_UPM | PIC_ICW4_SFNM);
    pulse(&p, 12);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x2C);
    /* A higher slave request passes the in-service IR2 in SFNM. */
    pulse(&p, 9);
    CU_ASSERT_EQUAL(pic_ack(&p), 0x29);
    /* A lower master request is still blocked. */
    pulse(&p, 3);
    CU_ASSERT_EQUAL(pic_pending_vector(&p), -1);
}

static void test_pic_foreign_ports(void)
{
    pic_t p, before;
    pic_setup(&p);
    before = p;
    for (uint32_t port = 0; port <= 0xFFFF; port++) {
        if (port == PIC_MASTER_CMD || port == PIC_MASTER_DATA || port == PIC_SLAVE_CMD ||
            port == PIC_SLAVE_DATA)
            continue;
        uint8_t v = 0x5C;
        CU_ASSERT_FALSE(pic_io(&p, (uint16_t)port, true, &v));
        CU_ASSERT_FALSE(pic_io(&p, (uint16_t)port, false, &v));
        if (v != 0x5C) {
            CU_FAIL("a foreign port changed the value");
            break;
        }
    }
    CU_ASSERT_EQUAL(memcmp(&p, &before, sizeof(p)), 0);
}

static void test_pic_hostile(void)
{
    static const uint16_t ports[] = { PIC_MASTER_CMD, PIC_MASTER_DATA, PIC_SLAVE_CMD,
                                      PIC_SLAVE_DATA };
    pic_t p;
    pic_setup(&p);
    /* Every byte to every port, in both directions. */
    for (unsigned i = 0; i < 4; i++)
        for (unsigned v = 0; v < 256; v++) {
            uint8_t b = (uint8_t)v;
            CU_ASSERT_TRUE(pic_io(&p, ports[i], false, &b));
            CU_ASSERT_TRUE(pic_io(&p, ports[i], true, &b));
            pulse(&p, v % PIC_IRQS);
            int want = pic_pending_vector(&p);
            CU_ASSERT_EQUAL(pic_ack(&p), want);
        }
    /* Random sequences: the INTA always returns what was pending. */
    rng_state = 0x9E3779B97F4A7C15ull;
    unsigned bad = 0;
    for (unsigned n = 0; n < 200000; n++) {
        uint64_t r = rnd();
        uint8_t b = (uint8_t)(r >> 8);
        switch (r & 7) {
        case 0: case 1: case 2:
            pic_io(&p, ports[(r >> 16) & 3], (r >> 18) & 1, &b);
            break;
        case 3: case 4:
            pic_set_irq(&p, (unsigned)(r >> 20) % 20, (r >> 30) & 1);
            break;
        default: {
            int want = pic_pending_vector(&p);
            int got = pic_ack(&p);
            if (got != want || got < -1 || got > 255)
                bad++;
            break;
        }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

UNIT_SUITE(pic_suite)
{
    CU_pSuite s = CU_add_suite("vmm devices: 8259A PIC", NULL, NULL);
    CU_add_test(s, "reset state: all masked, BIOS vectors", test_pic_reset_state);
    CU_add_test(s, "Linux init sequence ICW1-ICW4", test_pic_linux_init);
    CU_add_test(s, "ICW2 low bits ignored", test_pic_icw2_low_bits_ignored);
    CU_add_test(s, "ICW sequence: single mode, no ICW4", test_pic_icw_sequence_variants);
    CU_add_test(s, "OCW1 masking", test_pic_masking);
    CU_add_test(s, "fixed priority and nesting", test_pic_fixed_priority);
    CU_add_test(s, "equal priority blocked until EOI", test_pic_equal_priority_blocked);
    CU_add_test(s, "specific EOI", test_pic_specific_eoi);
    CU_add_test(s, "cascade through IR2", test_pic_cascade);
    CU_add_test(s, "cascade masks", test_pic_cascade_masks);
    CU_add_test(s, "OCW3 IRR/ISR reads", test_pic_irr_isr_reads);
    CU_add_test(s, "edge-triggered inputs", test_pic_edge_triggered);
    CU_add_test(s, "ICW1 needs a new edge", test_pic_reinit_needs_new_edge);
    CU_add_test(s, "automatic EOI and AEOI rotation", test_pic_auto_eoi);
    CU_add_test(s, "rotation and set priority", test_pic_rotation_and_priority);
    CU_add_test(s, "poll command", test_pic_poll);
    CU_add_test(s, "special mask mode", test_pic_special_mask_mode);
    CU_add_test(s, "special fully nested mode", test_pic_sfnm);
    CU_add_test(s, "hostile: foreign ports untouched", test_pic_foreign_ports);
    CU_add_test(s, "hostile: every byte, random sequences", test_pic_hostile);
}

/* ============================== 8254 PIT ============================== */

/* The least ns at which @t PIT ticks have elapsed (independent formula). */
static uint64_t pit_ns(uint64_t t)
{
    return (t * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static void pit_out(pit_t *p, uint16_t port, uint8_t v, uint64_t now)
{
    CU_ASSERT_TRUE(pit_io(p, port, false, &v, now));
}

static uint8_t pit_in(pit_t *p, uint16_t port, uint64_t now)
{
    uint8_t v = 0;
    CU_ASSERT_TRUE(pit_io(p, port, true, &v, now));
    return v;
}

static uint16_t pit_read16(pit_t *p, uint16_t port, uint64_t now)
{
    uint8_t lo = pit_in(p, port, now);
    return (uint16_t)(lo | pit_in(p, port, now) << 8);
}

/* Counter 0, LSB/MSB, @mode, count @n at @now. */
static void pit_program0(pit_t *p, unsigned mode, uint16_t n, uint64_t now)
{
    pit_out(p, PIT_PORT_CONTROL, (uint8_t)(PIT_RW_LOHI << 4 | mode << 1), now);
    pit_out(p, PIT_PORT_CH0, (uint8_t)n, now);
    pit_out(p, PIT_PORT_CH0, (uint8_t)(n >> 8), now);
}

static void test_pit_reset_state(void)
{
    pit_t p;
    pit_init(&p);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
    CU_ASSERT_FALSE(pit_irq0_due(&p, 0));
    CU_ASSERT_FALSE(pit_irq0_due(&p, UINT64_MAX));
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_B, 0) & (PIT_B_GATE2 | PIT_B_OUT2), 0);
}

static void test_pit_mode2_periodic(void)
{
    pit_t p;
    pit_init(&p);
    const uint16_t latch = 11932;                /* Linux: PIT_TICK_RATE / HZ(100) */
    const uint64_t t0 = 5000;
    pit_out(&p, PIT_PORT_CONTROL, 0x34, t0);     /* counter 0, LSB/MSB, mode 2 */
    pit_out(&p, PIT_PORT_CH0, latch & 0xFF, t0);
    pit_out(&p, PIT_PORT_CH0, latch >> 8, t0);
    uint64_t d1 = t0 + pit_ns(latch);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), d1);
    CU_ASSERT_FALSE(pit_irq0_due(&p, d1 - 1));
    CU_ASSERT_TRUE(pit_irq0_due(&p, d1));
    CU_ASSERT_FALSE(pit_irq0_due(&p, d1));       /* once per period */
    uint64_t d2 = t0 + pit_ns(2u * latch);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), d2);
    CU_ASSERT_TRUE(pit_irq0_due(&p, d2 + 10));
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), t0 + pit_ns(3u * latch));
}

static void test_pit_missed_periods_collapse(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_RATE, 1000, 0);
    uint64_t late = pit_ns(10500);               /* 10.5 periods later */
    CU_ASSERT_TRUE(pit_irq0_due(&p, late));
    CU_ASSERT_FALSE(pit_irq0_due(&p, late));
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(11000));
}

static void test_pit_mode2_readback(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_RATE, 1000, 0);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, 0), 1000);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(100)), 900);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(999)), 1);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(1000)), 1000);  /* reloaded */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(2250)), 750);
    /* Just before a tick boundary the count has not moved yet. */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(100) - 1), 901);
}

static void test_pit_mode0_oneshot(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_TERMINAL_COUNT, 0x4000, 1000);
    uint64_t d = 1000 + pit_ns(0x4000);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), d);
    CU_ASSERT_FALSE(pit_irq0_due(&p, d - 1));
    CU_ASSERT_TRUE(pit_irq0_due(&p, d + 5000000));
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
    CU_ASSERT_FALSE(pit_irq0_due(&p, UINT64_MAX - 1));
    /* After terminal count the counter wraps and keeps counting down. */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, 1000 + pit_ns(0x4001)), 0xFFFF);
    /* Reloading re-arms. */
    pit_out(&p, PIT_PORT_CH0, 0x10, d + 1);
    pit_out(&p, PIT_PORT_CH0, 0x00, d + 1);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), d + 1 + pit_ns(0x10));
}

static void test_pit_mode0_first_byte_stops(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_TERMINAL_COUNT, 500, 0);
    pit_out(&p, PIT_PORT_CH0, 0x20, pit_ns(10));  /* LSB only */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
    pit_out(&p, PIT_PORT_CH0, 0x00, pit_ns(20));  /* MSB: restart with 0x20 */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(20) + pit_ns(0x20));
}

static void test_pit_mode3_square(void)
{
    pit_t p;
    pit_init(&p);
    pit_out(&p, PIT_PORT_CONTROL, 0x36, 0);      /* counter 0, LSB/MSB, mode 3 */
    pit_out(&p, PIT_PORT_CH0, 0x00, 0);
    pit_out(&p, PIT_PORT_CH0, 0x00, 0);          /* 0 = 65536: the BIOS 18.2 Hz */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(65536));
    CU_ASSERT_TRUE(pit_irq0_due(&p, pit_ns(65536)));
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(131072));
    /* The count decrements by two, twice per period. */
    pit_program0(&p, PIT_MODE_SQUARE, 100, 0);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(10)), 80);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(60)), 80);
    /* OUT (read-back status bit 7): high for the first half, low for the second. */
    pit_out(&p, PIT_PORT_CONTROL, 0xE2, pit_ns(10));   /* status of counter 0 */
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_CH0, 0) & PIT_STATUS_OUT);
    pit_out(&p, PIT_PORT_CONTROL, 0xE2, pit_ns(60));
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_CH0, 0) & PIT_STATUS_OUT);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(100));
}

static void test_pit_count_zero_is_65536(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_TERMINAL_COUNT, 0, 0);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(65536));
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, 0), 0);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(1)), 0xFFFF);
}

static void test_pit_access_modes(void)
{
    pit_t p;
    pit_init(&p);
    /* LSB only. */
    pit_out(&p, PIT_PORT_CONTROL, PIT_RW_LO << 4 | PIT_MODE_RATE << 1, 0);
    pit_out(&p, PIT_PORT_CH0, 200, 0);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(200));
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, pit_ns(50)), 150);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, pit_ns(50)), 150);  /* always the LSB */
    /* MSB only. */
    pit_out(&p, PIT_PORT_CONTROL, PIT_RW_HI << 4 | PIT_MODE_RATE << 1, 0);
    pit_out(&p, PIT_PORT_CH0, 0x12, 0);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(0x1200));
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, pit_ns(0x100)), 0x11);
    /* LSB then MSB, alternating reads. */
    pit_program0(&p, PIT_MODE_RATE, 0xABCD, 0);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, 0), 0xCD);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, 0), 0xAB);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, 0), 0xCD);
}

static void test_pit_counter_latch(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_RATE, 5000, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0x00, pit_ns(1000));     /* latch counter 0 */
    pit_out(&p, PIT_PORT_CONTROL, 0x00, pit_ns(2000));     /* ignored: already latched */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(3000)), 4000);
    /* Released: reads follow the count again. */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(3000)), 2000);
    /* A latch half read holds for the MSB. */
    pit_out(&p, PIT_PORT_CONTROL, 0x00, pit_ns(3500));
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, pit_ns(4000)), 1500 & 0xFF);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH0, pit_ns(4900)), 1500 >> 8);
}

static void test_pit_readback_command(void)
{
    pit_t p;
    pit_init(&p);
    pit_out(&p, PIT_PORT_CONTROL, 0xB0, 0);   /* counter 2, LSB/MSB, mode 0 */
    /* Status and count of counter 2: status first, then the count. */
    pit_out(&p, PIT_PORT_CONTROL, 0xC0 | PIT_RB_NO_COUNT | PIT_RB_CHANNEL(2), 0);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH2, 0), PIT_STATUS_NULL | 0x30);
    pit_out(&p, PIT_PORT_CH2, 0x34, 0);
    pit_out(&p, PIT_PORT_CH2, 0x12, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0xC0 | PIT_RB_CHANNEL(2), 0);
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CH2, 0), 0x30);   /* count loaded, OUT low */
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, 0), 0x1234);
    /* Count-only read-back of several counters. */
    pit_program0(&p, PIT_MODE_RATE, 300, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0xC0 | PIT_RB_NO_STATUS | PIT_RB_CHANNEL(0), pit_ns(100));
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(250)), 200);
    /* Port 0x43 reads as an open bus. */
    CU_ASSERT_EQUAL(pit_in(&p, PIT_PORT_CONTROL, 0), 0xFF);
}

static void test_pit_channel2_calibration(void)
{
    pit_t p;
    pit_init(&p);
    const uint16_t latch = 11932;                /* 10 ms, as Linux's pit_calibrate_tsc */
    uint64_t t0 = 777;
    uint8_t b = pit_in(&p, PIT_PORT_B, t0);
    pit_out(&p, PIT_PORT_B, (uint8_t)((b & ~PIT_B_SPEAKER) | PIT_B_GATE2), t0);
    pit_out(&p, PIT_PORT_CONTROL, 0xB0, t0);
    pit_out(&p, PIT_PORT_CH2, latch & 0xFF, t0);
    pit_out(&p, PIT_PORT_CH2, latch >> 8, t0);
    uint64_t d = t0 + pit_ns(latch);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, t0) & PIT_B_OUT2);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, d - 1) & PIT_B_OUT2);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, d) & PIT_B_OUT2);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, d + 1000000000) & PIT_B_OUT2);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, d) & PIT_B_GATE2);
    /* Counter 2 does not touch IRQ0. */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
    /* The MSB of an unlatched count read falls as time passes (quick_pit_calibrate). */
    pit_out(&p, PIT_PORT_CONTROL, 0xB0, d);
    pit_out(&p, PIT_PORT_CH2, 0xFF, d);
    pit_out(&p, PIT_PORT_CH2, 0xFF, d);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, d + pit_ns(0x300)), 0xFFFF - 0x300);
}

static void test_pit_channel2_gate(void)
{
    pit_t p;
    pit_init(&p);
    /* Gate low: the count is loaded but does not run. */
    pit_out(&p, PIT_PORT_CONTROL, 0xB0, 0);
    pit_out(&p, PIT_PORT_CH2, 100, 0);
    pit_out(&p, PIT_PORT_CH2, 0, 0);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, pit_ns(1000)) & PIT_B_OUT2);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, pit_ns(1000)), 100);
    /* Gate high at t1: counts from there. */
    uint64_t t1 = pit_ns(1000);
    pit_out(&p, PIT_PORT_B, PIT_B_GATE2, t1);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, t1 + pit_ns(40)), 60);
    /* Gate low pauses mode 0, high resumes. */
    pit_out(&p, PIT_PORT_B, 0, t1 + pit_ns(40));
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, pit_ns(5000)), 60);
    uint64_t t2 = pit_ns(5000);
    pit_out(&p, PIT_PORT_B, PIT_B_GATE2, t2);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, t2 + pit_ns(60) - 1) & PIT_B_OUT2);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, t2 + pit_ns(60)) & PIT_B_OUT2);
    /* Mode 2: gate low forces OUT high, a rising gate reloads. */
    uint64_t t3 = pit_ns(6000);
    pit_out(&p, PIT_PORT_CONTROL, 0xB4, t3);
    pit_out(&p, PIT_PORT_CH2, 50, t3);
    pit_out(&p, PIT_PORT_CH2, 0, t3);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, t3 + pit_ns(20)), 30);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, t3 + pit_ns(49)) & PIT_B_OUT2);  /* count 1 */
    pit_out(&p, PIT_PORT_B, 0, t3 + pit_ns(20));
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, t3 + pit_ns(49)) & PIT_B_OUT2);
    uint64_t t4 = pit_ns(7000);
    pit_out(&p, PIT_PORT_B, PIT_B_GATE2, t4);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, t4 + pit_ns(10)), 40);
    /* Mode 1: counting starts on the gate's rising edge. */
    uint64_t t5 = pit_ns(8000);
    pit_out(&p, PIT_PORT_CONTROL, 0xB2, t5);
    pit_out(&p, PIT_PORT_CH2, 20, t5);
    pit_out(&p, PIT_PORT_CH2, 0, t5);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, t5 + pit_ns(100)) & PIT_B_OUT2);
    pit_out(&p, PIT_PORT_B, 0, t5 + pit_ns(100));
    uint64_t t6 = t5 + pit_ns(200);
    pit_out(&p, PIT_PORT_B, PIT_B_GATE2, t6);
    CU_ASSERT_FALSE(pit_in(&p, PIT_PORT_B, t6 + pit_ns(10)) & PIT_B_OUT2);
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH2, t6 + pit_ns(10)), 10);
    CU_ASSERT_TRUE(pit_in(&p, PIT_PORT_B, t6 + pit_ns(20)) & PIT_B_OUT2);
}

static void test_pit_port_b_bits(void)
{
    pit_t p;
    pit_init(&p);
    pit_out(&p, PIT_PORT_B, 0xFF, 0);
    uint8_t b = pit_in(&p, PIT_PORT_B, 0);
    CU_ASSERT_EQUAL(b & PIT_B_WRITABLE, PIT_B_WRITABLE);
    CU_ASSERT_EQUAL(b & 0xC0, 0);
    /* The refresh bit toggles every 15.085 us. */
    uint8_t r0 = pit_in(&p, PIT_PORT_B, 0) & PIT_B_REFRESH;
    uint8_t r1 = pit_in(&p, PIT_PORT_B, PIT_REFRESH_NS) & PIT_B_REFRESH;
    uint8_t r2 = pit_in(&p, PIT_PORT_B, 2 * PIT_REFRESH_NS) & PIT_B_REFRESH;
    CU_ASSERT_NOT_EQUAL(r0, r1);
    CU_ASSERT_EQUAL(r0, r2);
}

static void test_pit_bcd(void)
{
    pit_t p;
    pit_init(&p);
    pit_out(&p, PIT_PORT_CONTROL, 0x35, 0);      /* counter 0, LSB/MSB, mode 2, BCD */
    pit_out(&p, PIT_PORT_CH0, 0x00, 0);
    pit_out(&p, PIT_PORT_CH0, 0x10, 0);          /* BCD 1000 */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(1000));
    CU_ASSERT_EQUAL(pit_read16(&p, PIT_PORT_CH0, pit_ns(1)), 0x0999);
    pit_out(&p, PIT_PORT_CH0, 0x00, 0);
    pit_out(&p, PIT_PORT_CH0, 0x00, 0);          /* 0 = 10000 in BCD */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(10000));
}

static void test_pit_mode4_strobe(void)
{
    pit_t p;
    pit_init(&p);
    pit_out(&p, PIT_PORT_CONTROL, 0x38, 0);      /* Linux's one-shot clockevent */
    pit_out(&p, PIT_PORT_CH0, 100, 0);
    pit_out(&p, PIT_PORT_CH0, 0, 0);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(101));
    CU_ASSERT_TRUE(pit_irq0_due(&p, pit_ns(101)));
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
}

static void test_pit_control_word_stops(void)
{
    pit_t p;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_RATE, 1000, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0x34, 10);     /* new control word: wait for a count */
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), UINT64_MAX);
    CU_ASSERT_FALSE(pit_irq0_due(&p, pit_ns(5000)));
    /* Programming counter 1 or 2 leaves counter 0 alone. */
    pit_program0(&p, PIT_MODE_RATE, 1000, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0x74, 0);
    pit_out(&p, PIT_PORT_CONTROL, 0xB4, 0);
    CU_ASSERT_EQUAL(pit_next_irq0_ns(&p), pit_ns(1000));
}

static void test_pit_foreign_ports(void)
{
    pit_t p, before;
    pit_init(&p);
    pit_program0(&p, PIT_MODE_RATE, 1000, 0);
    before = p;
    for (uint32_t port = 0; port <= 0xFFFF; port++) {
        if ((port >= PIT_PORT_CH0 && port <= PIT_PORT_CONTROL) || port == PIT_PORT_B)
            continue;
        uint8_t v = 0xA5;
        CU_ASSERT_FALSE(pit_io(&p, (uint16_t)port, true, &v, 1));
        CU_ASSERT_FALSE(pit_io(&p, (uint16_t)port, false, &v, 1));
        if (v != 0xA5) {
            CU_FAIL("a foreign port changed the value");
            break;
        }
    }
    CU_ASSERT_EQUAL(memcmp(&p, &before, sizeof(p)), 0);
}

static void test_pit_hostile(void)
{
    static const uint16_t ports[] = { PIT_PORT_CH0, PIT_PORT_CH1, PIT_PORT_CH2,
                                      PIT_PORT_CONTROL, PIT_PORT_B };
    static const uint64_t times[] = { 0, 1, 838, 1000000000, UINT64_MAX / 2,
                                      UINT64_MAX - 1, UINT64_MAX };
    pit_t p;
    pit_init(&p);
    /* Every control word, each followed by every count byte pattern. */
    for (unsigned cw = 0; cw < 256; cw++)
        for (unsigned i = 0; i < 5; i++) {
            uint64_t now = times[(cw + i) % 7];
            pit_out(&p, PIT_PORT_CONTROL, (uint8_t)cw, now);
            pit_out(&p, ports[i], (uint8_t)(cw * 7), now);
            pit_out(&p, ports[i], (uint8_t)(cw * 13), now);
            (void)pit_in(&p, ports[i], now);
            (void)pit_in(&p, ports[(i + 1) % 5], times[(cw + i + 3) % 7]);
            (void)pit_irq0_due(&p, times[(cw + 2 * i) % 7]);
        }
    /* Random sequences with time mostly moving forward, sometimes back. */
    rng_state = 0x0123456789ABCDEFull;
    uint64_t now = 0;
    for (unsigned n = 0; n < 100000; n++) {
        uint64_t r = rnd();
        uint8_t b = (uint8_t)(r >> 8);
        if ((r & 0xFF) == 0)
            now = rnd();
        else
            now += (r >> 40) & 0xFFFFF;
        if ((r & 3) == 3) {
            uint64_t next = pit_next_irq0_ns(&p);
            bool due = pit_irq0_due(&p, now);
            CU_ASSERT_EQUAL(due, next != UINT64_MAX && now >= next);
        } else {
            pit_io(&p, ports[(r >> 16) % 5], (r >> 24) & 1, &b, now);
        }
    }
}

UNIT_SUITE(pit_suite)
{
    CU_pSuite s = CU_add_suite("vmm devices: 8254 PIT", NULL, NULL);
    CU_add_test(s, "reset state: idle", test_pit_reset_state);
    CU_add_test(s, "mode 2 periodic IRQ0 deadlines", test_pit_mode2_periodic);
    CU_add_test(s, "missed periods collapse", test_pit_missed_periods_collapse);
    CU_add_test(s, "mode 2 count readback", test_pit_mode2_readback);
    CU_add_test(s, "mode 0 one-shot", test_pit_mode0_oneshot);
    CU_add_test(s, "mode 0: first byte stops the count", test_pit_mode0_first_byte_stops);
    CU_add_test(s, "mode 3 square wave", test_pit_mode3_square);
    CU_add_test(s, "count 0 means 65536", test_pit_count_zero_is_65536);
    CU_add_test(s, "access modes LSB, MSB, LSB/MSB", test_pit_access_modes);
    CU_add_test(s, "counter latch command", test_pit_counter_latch);
    CU_add_test(s, "read-back command", test_pit_readback_command);
    CU_add_test(s, "counter 2 calibration through port 0x61", test_pit_channel2_calibration);
    CU_add_test(s, "counter 2 gate: modes 0, 1, 2", test_pit_channel2_gate);
    CU_add_test(s, "port 0x61 bits", test_pit_port_b_bits);
    CU_add_test(s, "BCD counting", test_pit_bcd);
    CU_add_test(s, "mode 4 strobe", test_pit_mode4_strobe);
    CU_add_test(s, "control word stops counter 0", test_pit_control_word_stops);
    CU_add_test(s, "hostile: foreign ports untouched", test_pit_foreign_ports);
    CU_add_test(s, "hostile: every control word, random sequences", test_pit_hostile);
}

/* ============================== MC146818 RTC ============================== */

#define T_2024_02_29_134556 1709214356ull   /* a Thursday */
#define T_2000_02_29        951782400ull    /* a Tuesday */
#define T_2100_02_28_235959 4107542399ull   /* a Sunday */
#define T_1999_12_31_235959 946684799ull    /* a Friday */
#define T_2024_03_10_0030   1710030600ull   /* a Sunday */

static uint8_t cmos_read(rtc_t *r, uint8_t idx, uint64_t now)
{
    uint8_t v = idx;
    CU_ASSERT_TRUE(rtc_io(r, RTC_PORT_INDEX, false, &v, now));
    CU_ASSERT_TRUE(rtc_io(r, RTC_PORT_DATA, true, &v, now));
    return v;
}

static void cmos_write(rtc_t *r, uint8_t idx, uint8_t v, uint64_t now)
{
    CU_ASSERT_TRUE(rtc_io(r, RTC_PORT_INDEX, false, &idx, now));
    CU_ASSERT_TRUE(rtc_io(r, RTC_PORT_DATA, false, &v, now));
}

static void test_rtc_bcd_24h(void)
{
    rtc_t r;
    rtc_init(&r);
    uint64_t t = T_2024_02_29_134556;
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t), 0x56);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MINUTES, t), 0x45);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t), 0x13);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY_OF_WEEK, t), 5);   /* Sunday = 1 */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, t), 0x29);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MONTH, t), 0x02);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, t), 0x24);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, t), 0x20);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t + 1), 0x57);
}

static void test_rtc_binary(void)
{
    rtc_t r;
    rtc_init(&r);
    uint64_t t = T_2024_02_29_134556;
    cmos_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY, t);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_B, t), RTC_B_24H | RTC_B_DM_BINARY);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t), 56);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MINUTES, t), 45);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t), 13);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, t), 29);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MONTH, t), 2);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, t), 24);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, t), 20);
}

static void test_rtc_12h(void)
{
    rtc_t r;
    rtc_init(&r);
    cmos_write(&r, RTC_REG_B, 0, 0);                                   /* BCD, 12-hour */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_2024_02_29_134556), 0x81);   /* 1 PM */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_2024_03_10_0030), 0x12);     /* 12 AM */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_2024_03_10_0030 + 41400), 0x92); /* 12 PM */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_1999_12_31_235959), 0x91);   /* 11 PM */
    cmos_write(&r, RTC_REG_B, RTC_B_DM_BINARY, 0);                     /* binary, 12-hour */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_1999_12_31_235959), 0x8B);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, T_2024_03_10_0030 + 3600), 1);
}

static void test_rtc_calendar(void)
{
    rtc_t r;
    rtc_init(&r);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, 0), 0x70);               /* 1970-01-01 Thu */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, 0), 0x19);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY_OF_WEEK, 0), 5);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, T_2000_02_29), 0x29);     /* 2000 is leap */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY_OF_WEEK, T_2000_02_29), 3);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, T_2100_02_28_235959 + 1), 0x01); /* 2100 is not */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MONTH, T_2100_02_28_235959 + 1), 0x03);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, T_2100_02_28_235959), 0x21);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY_OF_WEEK, T_2100_02_28_235959), 1);
    /* Rolling over a century. */
    uint64_t t = T_1999_12_31_235959;
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY_OF_WEEK, t), 6);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, t + 1), 0x00);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, t + 1), 0x20);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MONTH, t + 1), 0x01);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, t + 1), 0x01);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t + 1), 0x00);
}

static void test_rtc_status_registers(void)
{
    rtc_t r;
    rtc_init(&r);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_A, 0), RTC_A_RESET);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_B, 0), RTC_B_RESET);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_D, 0), RTC_D_VRT);
    cmos_write(&r, RTC_REG_A, 0xFF, 0);            /* UIP cannot be set */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_A, 0), 0x7F);
    cmos_write(&r, RTC_REG_D, 0x00, 0);            /* D is read-only */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_D, 0), RTC_D_VRT);
    cmos_write(&r, RTC_REG_C, 0xFF, 0);            /* C is read-only */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, 0), 0);
    cmos_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_PIE | RTC_B_SQWE, 0);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_B, 0), RTC_B_24H | RTC_B_PIE | RTC_B_SQWE);
    /* Setting SET clears UIE. */
    cmos_write(&r, RTC_REG_B, RTC_B_SET | RTC_B_UIE | RTC_B_24H, 0);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_B, 0), RTC_B_SET | RTC_B_24H);
}

static void test_rtc_reg_c_clears_on_read(void)
{
    rtc_t r;
    rtc_init(&r);
    uint64_t t = T_2024_02_29_134556;
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t), 0);
    /* A second passed: an update cycle ended, UF is set once. */
    uint8_t c = cmos_read(&r, RTC_REG_C, t + 1);
    CU_ASSERT_EQUAL(c, RTC_C_UF);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t + 1), 0);
    /* With UIE, IRQF is set too. */
    cmos_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_UIE, t + 1);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t + 2), RTC_C_IRQF | RTC_C_UF);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t + 2), 0);
}

static void test_rtc_alarm(void)
{
    rtc_t r;
    rtc_init(&r);
    uint64_t t = T_2024_02_29_134556;
    cmos_write(&r, RTC_SECONDS_ALARM, 0x58, t);
    cmos_write(&r, RTC_MINUTES_ALARM, RTC_ALARM_DONT_CARE, t);
    cmos_write(&r, RTC_HOURS_ALARM, 0x13, t);
    cmos_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_AIE, t);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS_ALARM, t), 0x58);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t + 1), RTC_C_UF);         /* :57 */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_REG_C, t + 2), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
}

static void test_rtc_nvram(void)
{
    rtc_t r;
    rtc_init(&r);
    for (unsigned i = RTC_NVRAM_FIRST; i < RTC_CMOS_SIZE; i++)
        if (i != RTC_CENTURY)
            cmos_write(&r, (uint8_t)i, (uint8_t)(i * 3 + 1), 0);
    for (unsigned i = RTC_NVRAM_FIRST; i < RTC_CMOS_SIZE; i++)
        if (i != RTC_CENTURY)
            CU_ASSERT_EQUAL(cmos_read(&r, (uint8_t)i, 12345), (uint8_t)(i * 3 + 1));
    /* Bit 7 of the index is the NMI mask: same register. */
    cmos_write(&r, 0x80 | 0x10, 0xAB, 0);
    CU_ASSERT_EQUAL(cmos_read(&r, 0x10, 0), 0xAB);
    CU_ASSERT_EQUAL(cmos_read(&r, 0x80 | 0x10, 0), 0xAB);
    /* The index register reads as an open bus. */
    uint8_t v = 0;
    CU_ASSERT_TRUE(rtc_io(&r, RTC_PORT_INDEX, true, &v, 0));
    CU_ASSERT_EQUAL(v, 0xFF);
}

static void test_rtc_set_clock(void)
{
    rtc_t r;
    rtc_init(&r);
    uint64_t t = T_2024_02_29_134556;
    /* What Linux's mc146818_set_time does: SET, write, clear SET. */
    cmos_write(&r, RTC_REG_B, RTC_B_SET | RTC_B_24H, t);
    cmos_write(&r, RTC_SECONDS, 0x59, t);
    cmos_write(&r, RTC_MINUTES, 0x59, t);
    cmos_write(&r, RTC_HOURS, 0x23, t);
    cmos_write(&r, RTC_DAY, 0x31, t);          /* Feb 31 for a moment ... */
    cmos_write(&r, RTC_MONTH, 0x12, t);        /* ... then December */
    cmos_write(&r, RTC_YEAR, 0x99, t);
    cmos_write(&r, RTC_CENTURY, 0x19, t);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t + 100), 0x59);   /* frozen while SET */
    cmos_write(&r, RTC_REG_B, RTC_B_24H, t + 100);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t + 100), 0x59);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_DAY, t + 100), 0x31);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, t + 100), 0x99);
    /* And it runs from there with host time. */
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_YEAR, t + 101), 0x00);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_CENTURY, t + 101), 0x20);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MONTH, t + 101), 0x01);
    /* A single write without SET moves just that field. */
    cmos_write(&r, RTC_MINUTES, 0x30, t + 101);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_MINUTES, t + 101), 0x30);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t + 101), 0x00);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_SECONDS, t + 102), 0x01);
    /* 12-hour writes: 1 PM. */
    cmos_write(&r, RTC_REG_B, 0, t + 102);
    cmos_write(&r, RTC_HOURS, 0x81, t + 102);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t + 102), 0x81);
    cmos_write(&r, RTC_REG_B, RTC_B_24H, t + 102);
    CU_ASSERT_EQUAL(cmos_read(&r, RTC_HOURS, t + 102), 0x13);
}

static void test_rtc_foreign_ports(void)
{
    rtc_t r, before;
    rtc_init(&r);
    before = r;
    for (uint32_t port = 0; port <= 0xFFFF; port++) {
        if (port == RTC_PORT_INDEX || port == RTC_PORT_DATA)
            continue;
        uint8_t v = 0x3C;
        CU_ASSERT_FALSE(rtc_io(&r, (uint16_t)port, true, &v, 0));
        CU_ASSERT_FALSE(rtc_io(&r, (uint16_t)port, false, &v, 0));
        if (v != 0x3C) {
            CU_FAIL("a foreign port changed the value");
            break;
        }
    }
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
}

static void test_rtc_hostile(void)
{
    static const uint64_t times[] = { 0, 1, T_2024_02_29_134556, 253402300799ull,
                                      UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX };
    rtc_t r;
    rtc_init(&r);
    /* Every byte to every register in every B mode, then read everything. */
    for (unsigned idx = 0; idx < 256; idx++)
        for (unsigned v = 0; v < 256; v++) {
            uint64_t now = times[(idx + v) % 7];
            cmos_write(&r, (uint8_t)idx, (uint8_t)v, now);
            (void)cmos_read(&r, (uint8_t)idx, now);
            (void)cmos_read(&r, (uint8_t)(idx ^ 0x0B), times[v % 7]);
        }
    for (unsigned b = 0; b < 256; b++)
        for (unsigned idx = 0; idx < 128; idx++) {
            cmos_write(&r, RTC_REG_B, (uint8_t)b, times[b % 7]);
            (void)cmos_read(&r, (uint8_t)idx, times[(b + idx) % 7]);
        }
    rng_state = 0xDEADBEEFCAFEF00Dull;
    for (unsigned n = 0; n < 100000; n++) {
        uint64_t x = rnd();
        uint8_t v = (uint8_t)(x >> 8);
        uint64_t now = (x & 0x100) ? rnd() : T_2024_02_29_134556 + (x >> 48);
        rtc_io(&r, (x & 1) ? RTC_PORT_DATA : RTC_PORT_INDEX, (x >> 1) & 1, &v, now);
    }
}

UNIT_SUITE(rtc_suite)
{
    CU_pSuite s = CU_add_suite("vmm devices: MC146818 RTC", NULL, NULL);
    CU_add_test(s, "BCD, 24-hour clock registers", test_rtc_bcd_24h);
    CU_add_test(s, "binary clock registers", test_rtc_binary);
    CU_add_test(s, "12-hour mode", test_rtc_12h);
    CU_add_test(s, "calendar: leap years, centuries, weekdays", test_rtc_calendar);
    CU_add_test(s, "status registers A, B, D", test_rtc_status_registers);
    CU_add_test(s, "status C: flags, cleared by reading", test_rtc_reg_c_clears_on_read);
    CU_add_test(s, "alarm flag", test_rtc_alarm);
    CU_add_test(s, "battery-backed RAM, NMI bit ignored", test_rtc_nvram);
    CU_add_test(s, "setting the clock", test_rtc_set_clock);
    CU_add_test(s, "hostile: foreign ports untouched", test_rtc_foreign_ports);
    CU_add_test(s, "hostile: every register and byte, random times", test_rtc_hostile);
}

/* ============================== local APIC ============================== */

static uint32_t apic_rd(lapic_t *l, uint32_t off, uint64_t now)
{
    uint32_t v = 0xDEADBEEF;
    CU_ASSERT_TRUE(lapic_mmio(l, off, false, &v, now));
    return v;
}

static void apic_wr(lapic_t *l, uint32_t off, uint32_t v, uint64_t now)
{
    CU_ASSERT_TRUE(lapic_mmio(l, off, true, &v, now));
}

/* Software-enabled with spurious vector 0xFF, as every OS does first. */
static void apic_setup(lapic_t *l)
{
    lapic_init(l, 0);
    apic_wr(l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
}

static uint32_t esr_read(lapic_t *l)
{
    apic_wr(l, LAPIC_REG_ESR, 0, 0);
    return apic_rd(l, LAPIC_REG_ESR, 0);
}

static void test_lapic_reset_state(void)
{
    lapic_t l;
    lapic_init(&l, 3);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ID, 0), 3u << 24);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_VERSION, 0), 0x00050014u);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_SVR, 0), 0xFFu);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_DFR, 0), 0xFFFFFFFFu);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TPR, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LDR, 0), 0);
    for (uint32_t off = LAPIC_REG_LVT_TIMER; off <= LAPIC_REG_LVT_ERROR; off += 0x10)
        CU_ASSERT_EQUAL(apic_rd(&l, off, 0), LAPIC_LVT_MASKED);
    for (uint32_t off = LAPIC_REG_ISR; off < LAPIC_REG_ESR; off += 0x10)
        CU_ASSERT_EQUAL(apic_rd(&l, off, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_INITIAL, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_DIVIDE, 0), 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    lapic_init(&l, 0x1FF);                               /* 8-bit xAPIC ID */
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ID, 0), 0xFFu << 24);
}

static void test_lapic_access_rules(void)
{
    lapic_t l;
    apic_setup(&l);
    uint32_t v = 0x12345678;
    /* Not 16-byte aligned, or outside the page: refused, value untouched. */
    for (uint32_t off = LAPIC_REG_TPR + 1; off < LAPIC_REG_TPR + 0x10; off++) {
        CU_ASSERT_FALSE(lapic_mmio(&l, off, false, &v, 0));
        CU_ASSERT_FALSE(lapic_mmio(&l, off, true, &v, 0));
    }
    CU_ASSERT_FALSE(lapic_mmio(&l, 0x1000, false, &v, 0));
    CU_ASSERT_FALSE(lapic_mmio(&l, 0xFFFFFFF0u, true, &v, 0));
    CU_ASSERT_EQUAL(v, 0x12345678);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TPR, 0), 0);
    CU_ASSERT_EQUAL(esr_read(&l), 0);
    /* Reserved registers: refused and logged in the ESR. */
    static const uint32_t reserved[] = { 0x000, 0x010, 0x040, 0x070, LAPIC_REG_APR,
                                         0x290, LAPIC_REG_LVT_CMCI, 0x3A0, 0x3D0, 0x3F0,
                                         0x400, 0xFF0 };
    for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        CU_ASSERT_FALSE(lapic_mmio(&l, reserved[i], false, &v, 0));
        CU_ASSERT_FALSE(lapic_mmio(&l, reserved[i], true, &v, 0));
    }
    CU_ASSERT_EQUAL(v, 0x12345678);
    CU_ASSERT_EQUAL(esr_read(&l), LAPIC_ESR_ILLEGAL_REGISTER);
    CU_ASSERT_EQUAL(esr_read(&l), 0);
}

static void test_lapic_read_only_registers(void)
{
    lapic_t l;
    apic_setup(&l);
    lapic_accept(&l, 0x40);
    static const uint32_t ro[] = { LAPIC_REG_VERSION, LAPIC_REG_PPR, LAPIC_REG_RRD,
                                   LAPIC_REG_ISR, LAPIC_REG_TMR + 0x70, LAPIC_REG_IRR + 0x20,
                                   LAPIC_REG_TIMER_CURRENT };
    for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
        apic_wr(&l, ro[i], 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_VERSION, 0), LAPIC_VERSION_REG);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x20, 0), 1u);   /* vector 0x40 */
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_EOI, 0), 0);              /* write-only */
}

static void test_lapic_register_masks(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_ID, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ID, 0), 0xFF000000u);
    apic_wr(&l, LAPIC_REG_TPR, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TPR, 0), 0xFFu);
    apic_wr(&l, LAPIC_REG_LDR, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LDR, 0), 0xFF000000u);
    apic_wr(&l, LAPIC_REG_DFR, 0x0, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_DFR, 0), 0x0FFFFFFFu);
    apic_wr(&l, LAPIC_REG_SVR, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_SVR, 0), 0x3FFu);
    /* Timer mode 11b is reserved: the mode stays (one-shot). */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), 0x000100FFu);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0xFFFBFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), 0x000300FFu);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0xFFFDFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), 0x000500FFu);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), 0x000500FFu);
    apic_wr(&l, LAPIC_REG_LVT_LINT0, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_LINT0, 0), 0x0001A7FFu);
    apic_wr(&l, LAPIC_REG_LVT_THERMAL, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_THERMAL, 0), 0x000107FFu);
    apic_wr(&l, LAPIC_REG_LVT_ERROR, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_ERROR, 0), 0x000100FFu);
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_DIVIDE, 0), 0x0Bu);
    apic_wr(&l, LAPIC_REG_ICR_HI, 0xFFFFFFFF, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ICR_HI, 0), 0xFF000000u);
}

static void test_lapic_irr_isr_eoi(void)
{
    lapic_t l;
    apic_setup(&l);
    lapic_accept(&l, 0x31);
    lapic_accept(&l, 0x41);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x10, 0), 1u << 17);   /* 0x31 */
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x20, 0), 1u << 1);    /* 0x41 */
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x41);
    lapic_ack(&l, 0x41);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR + 0x20, 0), 1u << 1);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x20, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0x40);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);     /* 0x31 is a lower class */
    /* A higher class nests. */
    lapic_accept(&l, 0x90);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x90);
    lapic_ack(&l, 0x90);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0x90);
    /* EOI clears the highest ISR bit first. */
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR + 0x40, 0), 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR + 0x20, 0), 1u << 1);
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x31);
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);                   /* nothing in service */
    /* Ack of a vector not requested changes nothing. */
    lapic_ack(&l, 0x77);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR + 0x30, 0), 0);
}

static void test_lapic_same_class_blocked(void)
{
    lapic_t l;
    apic_setup(&l);
    lapic_accept(&l, 0x45);
    lapic_ack(&l, 0x45);
    lapic_accept(&l, 0x4A);                             /* higher vector, same class */
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x4A);
    /* An IRR bit already set absorbs a second request. */
    lapic_accept(&l, 0x4A);
    lapic_ack(&l, 0x4A);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
}

static void test_lapic_tpr_masking(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_TPR, 0x40, 0);
    lapic_accept(&l, 0x4F);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0x40);
    lapic_accept(&l, 0x50);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x50);
    lapic_ack(&l, 0x50);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0x50);
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    /* PPR = TPR when TPR's class is at least the ISR's. */
    apic_wr(&l, LAPIC_REG_TPR, 0x5A, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_PPR, 0), 0x5A);
    apic_wr(&l, LAPIC_REG_TPR, 0x00, 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x4F);
    /* TPR 0xFF masks everything. */
    apic_wr(&l, LAPIC_REG_TPR, 0xFF, 0);
    lapic_accept(&l, 0xFE);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
}

static void test_lapic_software_disable(void)
{
    lapic_t l;
    lapic_init(&l, 0);
    /* Software-disabled after reset: fixed interrupts are not accepted ... */
    lapic_accept(&l, 0x40);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    /* ... and LVT mask bits cannot be cleared. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x20, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), LAPIC_LVT_MASKED | 0x20);
    apic_wr(&l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x20, 0);
    apic_wr(&l, LAPIC_REG_LVT_LINT0, LAPIC_DM_EXTINT << 8, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0), 0x20);
    CU_ASSERT_TRUE(lapic_extint_enabled(&l));
    lapic_accept(&l, 0x40);
    lapic_accept(&l, 0x60);
    lapic_ack(&l, 0x60);
    /* Disabling masks every LVT; IRR and ISR are kept. */
    apic_wr(&l, LAPIC_REG_SVR, 0xFF, 0);
    for (uint32_t off = LAPIC_REG_LVT_TIMER; off <= LAPIC_REG_LVT_ERROR; off += 0x10)
        CU_ASSERT_TRUE(apic_rd(&l, off, 0) & LAPIC_LVT_MASKED);
    CU_ASSERT_FALSE(lapic_extint_enabled(&l));
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x20, 0), 1u);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ISR + 0x30, 0), 1u);
    apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x40);
    /* Re-enabling does not unmask. */
    apic_wr(&l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
    CU_ASSERT_TRUE(apic_rd(&l, LAPIC_REG_LVT_TIMER, 0) & LAPIC_LVT_MASKED);
}

static void test_lapic_esr(void)
{
    lapic_t l;
    apic_setup(&l);
    lapic_accept(&l, 5);                                /* illegal vector */
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ESR, 0), 0);  /* not latched until written */
    CU_ASSERT_EQUAL(esr_read(&l), LAPIC_ESR_RECV_ILLEGAL_VECTOR);
    CU_ASSERT_EQUAL(esr_read(&l), 0);
    /* With LVT Error unmasked, the error raises its vector. */
    apic_wr(&l, LAPIC_REG_LVT_ERROR, 0xFE, 0);
    lapic_accept(&l, 15);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xFE);
}

static void test_lapic_timer_oneshot(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x30, 0);                  /* one-shot */
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x0B, 0);               /* divide by 1 */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 1000, 5000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 6000);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 5400), 600);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_INITIAL, 5400), 1000);
    lapic_timer_update(&l, 5999);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    lapic_timer_update(&l, 6000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x30);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 6001), 0);
    lapic_ack(&l, 0x30);
    apic_wr(&l, LAPIC_REG_EOI, 0, 6001);
    lapic_timer_update(&l, 1000000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);              /* fires once */
}

static void test_lapic_timer_dividers(void)
{
    /* Figure 10-10: DCR value -> divisor. */
    static const struct { uint32_t dcr, div; } tab[] = {
        { 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
        { 0x8, 32 }, { 0x9, 64 }, { 0xA, 128 }, { 0xB, 1 },
    };
    for (unsigned i = 0; i < 8; i++) {
        lapic_t l;
        apic_setup(&l);
        apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x40, 0);
        apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, tab[i].dcr, 0);
        apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 100, 0);
        CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 100ull * tab[i].div);
        CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 10ull * tab[i].div), 90);
        CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 10ull * tab[i].div + tab[i].div - 1),
                        90);
        lapic_timer_update(&l, 100ull * tab[i].div - 1);
        CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
        lapic_timer_update(&l, 100ull * tab[i].div);
        CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x40);
    }
}

static void test_lapic_timer_periodic(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | 0xEF, 0);
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x0, 0);                 /* divide by 2 */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 500, 0);                /* period 1000 ns */
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 1000);
    lapic_timer_update(&l, 1000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xEF);
    lapic_ack(&l, 0xEF);
    apic_wr(&l, LAPIC_REG_EOI, 0, 1000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 2000);
    /* Reloads: current count after 1.25 periods. */
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 1250), 375);
    /* Missed periods collapse into one interrupt. */
    lapic_timer_update(&l, 5500);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xEF);
    lapic_ack(&l, 0xEF);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 6000);
    /* Writing 0 to the initial count stops the timer. */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 0, 5600);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 7000), 0);
}

static void test_lapic_timer_masked(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_LVT_TIMER_PERIODIC | 0x50, 0);
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x0B, 0);
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 100, 0);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);      /* nothing to wake for */
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 30), 70);   /* still counts */
    lapic_timer_update(&l, 250);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    /* Unmasking later does not deliver the expiries that were masked. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | 0x50, 350);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 400);
    lapic_timer_update(&l, 400);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x50);
}

/* SDM 10.5.4.1: TSC-deadline mode (LVT timer bits 18:17 = 10b). The
 * deadline's guest time is the VMM's conversion, given with it. */
static void test_lapic_tsc_deadline(void)
{
    lapic_t l;
    apic_setup(&l);
    /* Not in TSC-deadline mode: the MSR reads 0, writes are ignored. */
    lapic_set_tsc_deadline(&l, 123456, 100, 0);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 0), 0);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_TSC_DEADLINE | 0xEC, 0);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 0), 0);              /* not armed yet */
    lapic_set_tsc_deadline(&l, 500000, 2000, 1000);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 1500), 500000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 2000);
    /* The initial count is ignored and the current count reads 0. */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 10, 1500);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 1501), 0);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 2000);
    lapic_timer_update(&l, 1999);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    lapic_timer_update(&l, 2000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xEC);
    /* Fired: disarmed, the MSR reads 0, one interrupt per write. */
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 2001), 0);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    lapic_ack(&l, 0xEC);
    apic_wr(&l, LAPIC_REG_EOI, 0, 2001);
    lapic_timer_update(&l, 1000000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    /* A deadline already passed fires at once. */
    lapic_set_tsc_deadline(&l, 7, 5000, 6000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xEC);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 6000), 0);
    lapic_ack(&l, 0xEC);
    apic_wr(&l, LAPIC_REG_EOI, 0, 6000);
    /* 0 disarms; a later write moves the deadline. */
    lapic_set_tsc_deadline(&l, 900000, 9000, 7000);
    lapic_set_tsc_deadline(&l, 0, 0, 7100);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    lapic_timer_update(&l, 20000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    lapic_set_tsc_deadline(&l, 900000, 30000, 20000);
    lapic_set_tsc_deadline(&l, 950000, 40000, 20100);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 20100), 950000);
    lapic_timer_update(&l, 39999);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    lapic_timer_update(&l, 40000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0xEC);
    lapic_ack(&l, 0xEC);
    apic_wr(&l, LAPIC_REG_EOI, 0, 40000);
    /* Masked: it disarms at the deadline without an interrupt, and there
     * is nothing to wake for. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_LVT_TIMER_TSC_DEADLINE | 0xEC,
            40000);
    lapic_set_tsc_deadline(&l, 990000, 50000, 40000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    lapic_timer_update(&l, 50000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 50000), 0);
}

/* SDM 10.5.4.1: "Transitioning between TSC-deadline mode and other timer
 * modes also disarms the timer." */
static void test_lapic_tsc_deadline_transitions(void)
{
    lapic_t l;
    apic_setup(&l);
    /* One-shot counting -> TSC-deadline: the count stops. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x41, 0);
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x0B, 0);
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 1000, 0);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_TSC_DEADLINE | 0x41, 100);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 100), 0);
    lapic_timer_update(&l, 5000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    /* Armed -> periodic: disarmed, the MSR reads 0 and writes are ignored. */
    lapic_set_tsc_deadline(&l, 77777, 9000, 5000);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | 0x41, 6000);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 6000), 0);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    lapic_set_tsc_deadline(&l, 88888, 9500, 6000);
    lapic_timer_update(&l, 20000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    /* The count modes work again after it. */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 100, 20000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 20100);
    /* A reserved mode write (11b) neither leaves periodic mode nor stops
     * the count. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_MODE_MASK | 0x41, 20050);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_LVT_TIMER, 20050), LAPIC_LVT_TIMER_PERIODIC | 0x41);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 20100);
    /* An armed deadline survives a change of its vector or mask bit. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_TSC_DEADLINE | 0x41, 20060);
    lapic_set_tsc_deadline(&l, 99999, 30000, 20060);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_TSC_DEADLINE | 0x42, 20070);
    CU_ASSERT_EQUAL(lapic_tsc_deadline(&l, 20070), 99999);
    lapic_timer_update(&l, 30000);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x42);
}

static void test_lapic_timer_reprogram(void)
{
    lapic_t l;
    apic_setup(&l);
    apic_wr(&l, LAPIC_REG_LVT_TIMER, LAPIC_LVT_TIMER_PERIODIC | 0x50, 0);
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x0B, 0);
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 1000, 0);
    /* Divide change mid-count: the remaining 600 ticks run at /4. */
    apic_wr(&l, LAPIC_REG_TIMER_DIVIDE, 0x1, 400);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 400), 600);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 400 + 600 * 4);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 800), 500);
    /* Periodic -> one-shot: the current period is the last. */
    apic_wr(&l, LAPIC_REG_LVT_TIMER, 0x50, 800);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_TIMER_CURRENT, 800), 500);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 800 + 500 * 4);
    lapic_timer_update(&l, 2800);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x50);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), UINT64_MAX);
    /* A new initial count restarts the count. */
    apic_wr(&l, LAPIC_REG_TIMER_INITIAL, 10, 3000);
    CU_ASSERT_EQUAL(lapic_next_timer_ns(&l), 3040);
    /* Any MMIO access delivers an expiry that is due first. */
    lapic_ack(&l, 0x50);
    apic_wr(&l, LAPIC_REG_EOI, 0, 3001);
    (void)apic_rd(&l, LAPIC_REG_TPR, 3040);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x50);
}

static void test_lapic_self_ipi(void)
{
    lapic_t l;
    lapic_init(&l, 2);
    apic_wr(&l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_SELF << 18 | 0x61, 0);
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x61);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_ICR_LO, 0) & LAPIC_ICR_PENDING, 0);
    lapic_ack(&l, 0x61);
    /* Physical destination: own ID or broadcast; another ID does nothing. */
    apic_wr(&l, LAPIC_REG_ICR_HI, 5u << 24, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, 0x72, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x30, 0), 0);
    apic_wr(&l, LAPIC_REG_ICR_HI, 2u << 24, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, 0x72, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x30, 0), 1u << 18);
    /* Logical flat: LDR bit match. */
    apic_wr(&l, LAPIC_REG_LDR, 0x04000000, 0);
    apic_wr(&l, LAPIC_REG_ICR_HI, 0x04000000, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_ICR_DEST_LOGICAL | 0x83, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x40, 0), 1u << 3);
    /* All-excluding-self and NMI/INIT are not delivered here. */
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_OTHERS << 18 | 0x94, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_SELF << 18 | LAPIC_DM_NMI << 8 | 0x95, 0);
    CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + 0x40, 0), 1u << 3);
    CU_ASSERT(!lapic_nmi_pending(&l));   /* NMI with the self shorthand: invalid (Table 10-3) */
    /* An illegal vector is a send error. */
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_SELF << 18 | 0x03, 0);
    CU_ASSERT_EQUAL(esr_read(&l), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

/* NMI IPIs (SDM 10.6.1): to the own ID, to all including self or to a
 * matching logical destination; the vector is ignored (no illegal-vector
 * error), the IRR untouched, several merge into one pending NMI, and a
 * software-disabled APIC still takes them (SDM 10.4.7.2). */
static void test_lapic_nmi_ipi(void)
{
    lapic_t l;
    lapic_init(&l, 2);
    const uint32_t nmi = LAPIC_DM_NMI << 8;
    CU_ASSERT(!lapic_nmi_pending(&l));
    apic_wr(&l, LAPIC_REG_ICR_HI, 2u << 24, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, nmi, 0);              /* disabled APIC, vector 0 */
    CU_ASSERT(lapic_nmi_pending(&l));
    CU_ASSERT_EQUAL(esr_read(&l), 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, nmi | 0x40, 0);       /* merges */
    lapic_nmi_ack(&l);
    CU_ASSERT(!lapic_nmi_pending(&l));
    apic_wr(&l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
    apic_wr(&l, LAPIC_REG_ICR_HI, 5u << 24, 0);         /* another CPU */
    apic_wr(&l, LAPIC_REG_ICR_LO, nmi, 0);
    CU_ASSERT(!lapic_nmi_pending(&l));
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_OTHERS << 18 | nmi, 0);
    CU_ASSERT(!lapic_nmi_pending(&l));
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_SHORTHAND_ALL << 18 | nmi, 0);
    CU_ASSERT(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    apic_wr(&l, LAPIC_REG_ICR_HI, LAPIC_BROADCAST_ID << 24, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, nmi | LAPIC_ICR_LEVEL | LAPIC_ICR_ASSERT, 0);
    CU_ASSERT(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    apic_wr(&l, LAPIC_REG_LDR, 0x10000000, 0);
    apic_wr(&l, LAPIC_REG_ICR_HI, 0x10000000, 0);
    apic_wr(&l, LAPIC_REG_ICR_LO, LAPIC_ICR_DEST_LOGICAL | nmi, 0);
    CU_ASSERT(lapic_nmi_pending(&l));
    for (unsigned i = 0; i < LAPIC_VECTOR_REGS; i++)
        CU_ASSERT_EQUAL(apic_rd(&l, LAPIC_REG_IRR + i * 0x10, 0), 0);
    lapic_init(&l, 2);                                  /* reset drops it */
    CU_ASSERT(!lapic_nmi_pending(&l));
}

/* LINT0/LINT1 in NMI mode (SDM 10.5.1): a rising edge raises an NMI,
 * whatever the trigger-mode bit; a held level, a masked entry, another
 * delivery mode or a software-disabled APIC raise none. */
static void test_lapic_lint_nmi(void)
{
    lapic_t l;
    lapic_init(&l, 0);
    apic_wr(&l, LAPIC_REG_LVT_LINT0, LAPIC_DM_NMI << 8, 0);   /* disabled: stays masked */
    lapic_lint_level(&l, 0, true);
    CU_ASSERT(!lapic_nmi_pending(&l));
    lapic_lint_level(&l, 0, false);
    apic_wr(&l, LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF, 0);
    apic_wr(&l, LAPIC_REG_LVT_LINT0, LAPIC_DM_NMI << 8 | LAPIC_LVT_LEVEL, 0);
    CU_ASSERT(lapic_lint_nmi(&l, 0) && !lapic_lint_nmi(&l, 1) && !lapic_lint_nmi(&l, 7));
    lapic_lint_level(&l, 0, true);
    CU_ASSERT(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    lapic_lint_level(&l, 0, true);                      /* held high: no new edge */
    CU_ASSERT(!lapic_nmi_pending(&l));
    lapic_lint_level(&l, 0, false);
    lapic_lint_level(&l, 0, true);
    CU_ASSERT(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    apic_wr(&l, LAPIC_REG_LVT_LINT0, LAPIC_DM_EXTINT << 8, 0);
    lapic_lint_level(&l, 0, false);
    lapic_lint_level(&l, 0, true);
    CU_ASSERT(!lapic_nmi_pending(&l));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    apic_wr(&l, LAPIC_REG_LVT_LINT1, LAPIC_DM_NMI << 8, 0);
    lapic_lint_level(&l, 1, true);
    CU_ASSERT(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    apic_wr(&l, LAPIC_REG_LVT_LINT1, LAPIC_LVT_MASKED | LAPIC_DM_NMI << 8, 0);
    lapic_lint_level(&l, 1, false);
    lapic_lint_level(&l, 1, true);
    lapic_lint_level(&l, 9, true);                      /* no such pin */
    CU_ASSERT(!lapic_nmi_pending(&l));
}

/* x2APIC mode (SDM Vol. 3A 10.12): the registers as MSRs 800H-8FFH, with
 * the access rules of 10.12.1.2/10.12.1.3. */
static bool x2_rd(lapic_t *l, uint32_t msr, uint64_t *v)
{
    return lapic_x2apic_msr(l, msr, false, v, 0);
}

static bool x2_wr(lapic_t *l, uint32_t msr, uint64_t v)
{
    return lapic_x2apic_msr(l, msr, true, &v, 0);
}

static void test_lapic_x2apic(void)
{
    lapic_t l;
    uint64_t v = 0;
    lapic_init(&l, 0x23);
    CU_ASSERT_FALSE(x2_rd(&l, 0x808, &v));                /* xAPIC mode: #GP */
    CU_ASSERT_FALSE(x2_wr(&l, 0x808, 0));
    lapic_set_x2apic(&l, true);
    CU_ASSERT_TRUE(x2_rd(&l, 0x802, &v) && v == 0x23);    /* the 32-bit x2APIC ID */
    CU_ASSERT_TRUE(x2_rd(&l, 0x803, &v) && v == LAPIC_VERSION_REG);
    /* LDR: cluster 0x23 >> 4 = 2, bit 3 (10.12.10.2); read-only. */
    CU_ASSERT_TRUE(x2_rd(&l, 0x80D, &v) && v == (2u << 16 | 1u << 3));
    CU_ASSERT_FALSE(x2_wr(&l, 0x80D, 0));
    /* Read-only registers: ID, version, PPR, ISR/TMR/IRR, current count. */
    static const uint32_t ro[] = { 0x802, 0x803, 0x80A, 0x810, 0x817, 0x818, 0x820, 0x827, 0x839 };
    for (unsigned i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        CU_ASSERT_TRUE(x2_rd(&l, ro[i], &v));
        CU_ASSERT_FALSE(x2_wr(&l, ro[i], 0));
    }
    /* Absent in x2APIC mode: DFR, ICR high, APR, RRD, CMCI, reserved. */
    static const uint32_t absent[] = { 0x800, 0x801, 0x804, 0x809, 0x80C, 0x80E, 0x829, 0x82F,
                                       0x831, 0x83A, 0x83D, 0x840, 0x8FF };
    for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        CU_ASSERT_FALSE(x2_rd(&l, absent[i], &v));
        CU_ASSERT_FALSE(x2_wr(&l, absent[i], 0));
    }
    CU_ASSERT_FALSE(x2_rd(&l, 0x7FF, &v));
    CU_ASSERT_FALSE(x2_rd(&l, 0x900, &v));
    /* Write-only: EOI (0 only), SELF IPI. */
    CU_ASSERT_FALSE(x2_rd(&l, 0x80B, &v));
    CU_ASSERT_FALSE(x2_rd(&l, 0x83F, &v));
    CU_ASSERT_FALSE(x2_wr(&l, 0x80B, 1));
    CU_ASSERT_TRUE(x2_wr(&l, 0x80B, 0));
    /* Reserved bits (10.12.1.3): TPR 31:8, 63:32, ESR non-zero, DCR bit 2. */
    CU_ASSERT_TRUE(x2_wr(&l, 0x808, 0x20) && x2_rd(&l, 0x808, &v) && v == 0x20);
    CU_ASSERT_FALSE(x2_wr(&l, 0x808, 0x120));
    CU_ASSERT_FALSE(x2_wr(&l, 0x808, 1ULL << 32 | 0x20));
    CU_ASSERT_TRUE(x2_rd(&l, 0x808, &v) && v == 0x20);
    CU_ASSERT_FALSE(x2_wr(&l, 0x828, 1));
    CU_ASSERT_TRUE(x2_wr(&l, 0x828, 0));
    CU_ASSERT_FALSE(x2_wr(&l, 0x83E, 4));
    CU_ASSERT_TRUE(x2_wr(&l, 0x83E, 0xB) && x2_rd(&l, 0x83E, &v) && v == 0xB);
    CU_ASSERT_FALSE(x2_wr(&l, 0x832, 1u << 19));          /* reserved */
    CU_ASSERT_TRUE(x2_wr(&l, 0x832, LAPIC_LVT_TIMER_TSC_DEADLINE | LAPIC_LVT_MASKED) &&
                   x2_rd(&l, 0x832, &v) && v == (LAPIC_LVT_TIMER_TSC_DEADLINE | LAPIC_LVT_MASKED));
    CU_ASSERT_TRUE(x2_wr(&l, 0x808, 0));
    /* Software-enabled, then SELF IPI and the 64-bit ICR (physical, own ID;
     * another ID; the broadcast; logical cluster 2 bit 3). */
    CU_ASSERT_TRUE(x2_wr(&l, 0x80F, LAPIC_SVR_ENABLE | 0xFF));
    CU_ASSERT_FALSE(x2_wr(&l, 0x83F, 0x140));             /* reserved 31:8 */
    CU_ASSERT_TRUE(x2_wr(&l, 0x83F, 0x40));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x40);
    lapic_ack(&l, 0x40);
    CU_ASSERT_TRUE(x2_wr(&l, 0x80B, 0));
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, 0x23ULL << 32 | 0x41));
    CU_ASSERT_TRUE(x2_rd(&l, 0x830, &v) && v == (0x23ULL << 32 | 0x41));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x41);
    lapic_ack(&l, 0x41);
    CU_ASSERT_TRUE(x2_wr(&l, 0x80B, 0));
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, 0x123ULL << 32 | 0x42));   /* another x2APIC ID */
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, 0xFFFFFFFFULL << 32 | 0x43));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x43);
    lapic_ack(&l, 0x43);
    CU_ASSERT_TRUE(x2_wr(&l, 0x80B, 0));
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, (2ULL << 16 | 1u << 3) << 32 | LAPIC_ICR_DEST_LOGICAL | 0x44));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), 0x44);
    lapic_ack(&l, 0x44);
    CU_ASSERT_TRUE(x2_wr(&l, 0x80B, 0));
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, (3ULL << 16 | 1u << 3) << 32 | LAPIC_ICR_DEST_LOGICAL | 0x45));
    CU_ASSERT_EQUAL(lapic_pending_vector(&l), -1);        /* another cluster */
    CU_ASSERT_FALSE(x2_wr(&l, 0x830, LAPIC_ICR_PENDING | 0x46));  /* bit 12 reserved */
    CU_ASSERT_FALSE(x2_wr(&l, 0x830, 1u << 20 | 0x46));
    /* An NMI IPI to self by its ID; an I/O APIC message with 0xFF. */
    CU_ASSERT_TRUE(x2_wr(&l, 0x830, 0x23ULL << 32 | LAPIC_DM_NMI << LAPIC_ICR_DM_SHIFT));
    CU_ASSERT_TRUE(lapic_nmi_pending(&l));
    lapic_nmi_ack(&l);
    CU_ASSERT_TRUE(lapic_message(&l, LAPIC_DM_FIXED, 0x47, false, false, 0xFF));
    CU_ASSERT_FALSE(lapic_message(&l, LAPIC_DM_FIXED, 0x48, false, false, 0x22));
    /* Back to the xAPIC registers: the disable resets (lapic_init). */
    lapic_init(&l, 0x23);
    CU_ASSERT_FALSE(l.x2apic);
    CU_ASSERT_FALSE(x2_rd(&l, 0x802, &v));
}

static void test_lapic_hostile(void)
{
    lapic_t l;
    apic_setup(&l);
    /* Every byte offset in the page and a little beyond, both directions. */
    unsigned ok = 0;
    for (uint32_t off = 0; off < 0x1100; off++) {
        uint32_t v = (uint32_t)rnd();
        if (lapic_mmio(&l, off, false, &v, off))
            ok++;
        v = off * 0x01010101u;
        (void)lapic_mmio(&l, off, true, &v, off);
    }
    CU_ASSERT(ok > 40);
    /* Every vector accepted, acked and EOIed. */
    for (unsigned v = 0; v < 256; v++)
        lapic_accept(&l, (uint8_t)v);
    for (int n = 0; n < 300; n++) {
        int v = lapic_pending_vector(&l);
        if (v < 0)
            break;
        CU_ASSERT(v >= LAPIC_FIRST_VALID_VECTOR && v <= 255);
        lapic_ack(&l, (uint8_t)v);
        apic_wr(&l, LAPIC_REG_EOI, 0, 0);
    }
    /* Random register traffic with random values and times. */
    rng_state = 0xA5A5A5A55A5A5A5Aull;
    static const uint64_t extremes[] = { 0, 1, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX };
    uint64_t now = 0;
    for (unsigned n = 0; n < 200000; n++) {
        uint64_t r = rnd();
        uint32_t v = (uint32_t)(r >> 32);
        if ((r & 0x3FF) == 0)
            now = extremes[(r >> 10) % 5];
        else
            now += (r >> 20) & 0xFFF;
        switch (r & 7) {
        case 0:
            lapic_accept(&l, (uint8_t)(r >> 8));
            break;
        case 1: {
            int pv = lapic_pending_vector(&l);
            if (pv >= 0)
                lapic_ack(&l, (uint8_t)pv);
            CU_ASSERT(pv >= -1 && pv <= 255);
            break;
        }
        case 2:
            lapic_timer_update(&l, now);
            (void)lapic_next_timer_ns(&l);
            break;
        default:
            (void)lapic_mmio(&l, (uint32_t)(r >> 8) & 0x3F0, (r >> 4) & 1, &v, now);
            break;
        }
    }
}

UNIT_SUITE(lapic_suite)
{
    CU_pSuite s = CU_add_suite("vmm devices: local APIC", NULL, NULL);
    CU_add_test(s, "reset state", test_lapic_reset_state);
    CU_add_test(s, "access rules: alignment, reserved registers", test_lapic_access_rules);
    CU_add_test(s, "read-only registers ignore writes", test_lapic_read_only_registers);
    CU_add_test(s, "writable bits of each register", test_lapic_register_masks);
    CU_add_test(s, "IRR, ISR, EOI and nesting", test_lapic_irr_isr_eoi);
    CU_add_test(s, "same priority class blocked", test_lapic_same_class_blocked);
    CU_add_test(s, "TPR masking and PPR", test_lapic_tpr_masking);
    CU_add_test(s, "software disable", test_lapic_software_disable);
    CU_add_test(s, "ESR and LVT error", test_lapic_esr);
    CU_add_test(s, "timer one-shot", test_lapic_timer_oneshot);
    CU_add_test(s, "timer divide values", test_lapic_timer_dividers);
    CU_add_test(s, "timer periodic", test_lapic_timer_periodic);
    CU_add_test(s, "timer masked", test_lapic_timer_masked);
    CU_add_test(s, "timer reprogrammed while counting", test_lapic_timer_reprogram);
    CU_add_test(s, "timer TSC-deadline mode", test_lapic_tsc_deadline);
    CU_add_test(s, "timer TSC-deadline mode transitions", test_lapic_tsc_deadline_transitions);
    CU_add_test(s, "self IPIs through the ICR", test_lapic_self_ipi);
    CU_add_test(s, "NMI IPIs through the ICR", test_lapic_nmi_ipi);
    CU_add_test(s, "LINT0/LINT1 in NMI mode", test_lapic_lint_nmi);
    CU_add_test(s, "x2APIC: MSR interface and its access rules", test_lapic_x2apic);
    CU_add_test(s, "hostile: every offset, random traffic", test_lapic_hostile);
}

/* ---- system-control ports (devices/sysctl.c) ---- */

static sysctl_result_t sc_out(sysctl_t *c, uint16_t port, uint8_t v)
{
    return sysctl_io(c, port, false, &v);
}

static uint8_t sc_in(sysctl_t *c, uint16_t port)
{
    uint8_t v = 0;
    CU_ASSERT_EQUAL(sysctl_io(c, port, true, &v), SYSCTL_DONE);
    return v;
}

static void test_sysctl_port_a(void)
{
    sysctl_t c;
    sysctl_init(&c);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_A), SYSCTL_A_A20);    /* A20 on, as loaded */
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, 0), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_A), 0);               /* A20 reads back */
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, 0xFC | SYSCTL_A_A20), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_A), SYSCTL_A_A20);    /* other bits not kept */
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, SYSCTL_A_A20 | SYSCTL_A_FAST_RESET), SYSCTL_RESET);
    /* Bit 0 already 1: no new transition, no reset. */
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, SYSCTL_A_FAST_RESET), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, 0), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_A, SYSCTL_A_FAST_RESET), SYSCTL_RESET);
}

static void test_sysctl_cf9(void)
{
    sysctl_t c;
    sysctl_init(&c);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_RESET), 0);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_RESET, SYSCTL_CF9_SYS_RST), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_RESET), SYSCTL_CF9_SYS_RST);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_RESET, 0x06), SYSCTL_RESET);
    sysctl_init(&c);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_RESET, 0x0E), SYSCTL_RESET);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_RESET, 0x0E), SYSCTL_DONE);     /* no 0 -> 1 */
    sysctl_init(&c);
    CU_ASSERT_EQUAL(sc_out(&c, SYSCTL_PORT_RESET, 0xF1), SYSCTL_DONE);     /* RST_CPU clear */
}

static void test_sysctl_hostile(void)
{
    sysctl_t c;
    sysctl_init(&c);
    uint8_t v = 0x12;
    CU_ASSERT_EQUAL(sysctl_io(&c, SYSCTL_PORT_POST, false, &v), SYSCTL_DONE);
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_POST), 0xFF);
    CU_ASSERT_EQUAL(sysctl_io(&c, 0x60, true, &v), SYSCTL_NOT_MINE);   /* the 8042's */
    CU_ASSERT_EQUAL(sysctl_io(&c, 0x64, true, &v), SYSCTL_NOT_MINE);
    for (unsigned port = 0; port <= 0xFFFF; port += 7)
        for (unsigned b = 0; b < 256; b += 51) {
            uint8_t x = (uint8_t)b;
            sysctl_io(&c, (uint16_t)port, (b & 1) != 0, &x);
        }
    CU_ASSERT_EQUAL(sc_in(&c, SYSCTL_PORT_A) & ~(SYSCTL_A_A20 | SYSCTL_A_FAST_RESET), 0);
}

UNIT_SUITE(vmm_sysctl_suite)
{
    CU_pSuite s = CU_add_suite("vmm system-control ports", NULL, NULL);
    CU_add_test(s, "port 92h: A20 reads back, fast reset on 0 -> 1", test_sysctl_port_a);
    CU_add_test(s, "CF9h: 06h/0Eh reset", test_sysctl_cf9);
    CU_add_test(s, "hostile: every port, POST", test_sysctl_hostile);
}
