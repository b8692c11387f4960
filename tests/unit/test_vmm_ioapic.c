/*
 * tests/unit/test_vmm_ioapic.c - the I/O APIC model (vmm-server/devices/
 * ioapic.c) wired to the local APIC model as the VMM wires them: register
 * access rules, the redirection table, edge and level delivery, Remote IRR
 * and the EOI broadcast, polarity, masking, destinations, NMI and ExtINT,
 * and hostile register traffic.
 */
#include "unit.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include <stdint.h>
#include <string.h>

static ioapic_t io;
static lapic_t lp;

static uint32_t mmio_rd(uint32_t off)
{
    uint32_t v = 0;
    CU_ASSERT_TRUE(ioapic_mmio(&io, off, 4, false, &v, &lp));
    return v;
}

static void mmio_wr(uint32_t off, uint32_t v)
{
    CU_ASSERT_TRUE(ioapic_mmio(&io, off, 4, true, &v, &lp));
}

static uint32_t reg_rd(uint32_t idx)
{
    mmio_wr(IOAPIC_MMIO_SELECT, idx);
    return mmio_rd(IOAPIC_MMIO_WINDOW);
}

static void reg_wr(uint32_t idx, uint32_t v)
{
    mmio_wr(IOAPIC_MMIO_SELECT, idx);
    mmio_wr(IOAPIC_MMIO_WINDOW, v);
}

static void rte_wr(unsigned pin, uint64_t v)
{
    reg_wr(IOAPIC_IDX_REDTBL + 2 * pin + 1, (uint32_t)(v >> 32));
    reg_wr(IOAPIC_IDX_REDTBL + 2 * pin, (uint32_t)v);
}

static uint64_t rte_rd(unsigned pin)
{
    return (uint64_t)reg_rd(IOAPIC_IDX_REDTBL + 2 * pin + 1) << 32 |
           reg_rd(IOAPIC_IDX_REDTBL + 2 * pin);
}

static void lapic_wr(uint32_t off, uint32_t v)
{
    CU_ASSERT_TRUE(lapic_mmio(&lp, off, true, &v, 0));
}

/* An enabled LAPIC with ID 0, an I/O APIC with ID 1, as after Linux's setup. */
static void setup(void)
{
    lapic_init(&lp, 0);
    lapic_wr(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF);
    ioapic_init(&io, 1);
}

/* Take the pending vector as the CPU would, then EOI it at the LAPIC and
 * pass a broadcast on as the VMM does. */
static int take(void)
{
    int v = lapic_pending_vector(&lp);
    if (v >= 0)
        lapic_ack(&lp, (uint8_t)v);
    return v;
}

static void eoi(void)
{
    lapic_wr(LAPIC_REG_EOI, 0);
    int v = lapic_take_eoi_broadcast(&lp);
    if (v >= 0)
        ioapic_eoi(&io, (uint8_t)v, &lp);
}

static void test_ioapic_reset_and_ids(void)
{
    setup();
    CU_ASSERT_EQUAL(reg_rd(IOAPIC_IDX_ID), 1u << 24);
    CU_ASSERT_EQUAL(reg_rd(IOAPIC_IDX_VERSION), 0x00170020u);   /* 24 entries, version 0x20 */
    for (unsigned p = 0; p < IOAPIC_PINS; p++)
        CU_ASSERT_EQUAL(rte_rd(p), IOAPIC_RTE_MASKED);
    reg_wr(IOAPIC_IDX_ID, 0xFFFFFFFFu);                 /* only bits 27:24 */
    CU_ASSERT_EQUAL(reg_rd(IOAPIC_IDX_ID), 0x0F000000u);
    reg_wr(IOAPIC_IDX_VERSION, 0);                      /* read-only */
    CU_ASSERT_EQUAL(reg_rd(IOAPIC_IDX_VERSION), 0x00170020u);
    mmio_wr(IOAPIC_MMIO_SELECT, 0x12345601u);           /* IOREGSEL bits 7:0 */
    CU_ASSERT_EQUAL(mmio_rd(IOAPIC_MMIO_SELECT), 0x01u);
}

static void test_ioapic_undefined(void)
{
    setup();
    /* Indices with no register: all ones, writes dropped. */
    for (uint32_t idx = 0x02; idx < 0x10; idx++) {
        reg_wr(idx, 0);
        CU_ASSERT_EQUAL(reg_rd(idx), IOAPIC_UNDEFINED);
    }
    for (uint32_t idx = 0x40; idx <= 0xFF; idx++)
        CU_ASSERT_EQUAL(reg_rd(idx), IOAPIC_UNDEFINED);
    /* Offsets with no register, wrong sizes: all ones, nothing changes. */
    uint32_t v = 0;
    CU_ASSERT_FALSE(ioapic_mmio(&io, 0x20, 4, false, &v, &lp));
    CU_ASSERT_EQUAL(v, IOAPIC_UNDEFINED);
    v = 0x10;
    CU_ASSERT_FALSE(ioapic_mmio(&io, IOAPIC_MMIO_SELECT, 1, true, &v, &lp));
    CU_ASSERT_EQUAL(mmio_rd(IOAPIC_MMIO_SELECT), 0xFFu);   /* still the last index */
    CU_ASSERT_FALSE(ioapic_mmio(&io, IOAPIC_MMIO_WINDOW, 8, false, &v, &lp));
    CU_ASSERT_EQUAL(v, IOAPIC_UNDEFINED);
    CU_ASSERT_FALSE(ioapic_mmio(&io, 0x04, 4, false, &v, &lp));
    /* The EOI register is write-only. */
    CU_ASSERT_TRUE(ioapic_mmio(&io, IOAPIC_MMIO_EOI, 4, false, &v, &lp));
    CU_ASSERT_EQUAL(v, IOAPIC_UNDEFINED);
}

static void test_ioapic_rte_bits(void)
{
    setup();
    rte_wr(5, ~0ull);
    /* Writable: vector, delivery mode, dest mode, polarity, trigger, mask,
     * destination; read-only delivery status and Remote IRR stay clear. */
    CU_ASSERT_EQUAL(rte_rd(5), IOAPIC_RTE_WRITABLE);
    CU_ASSERT_EQUAL(rte_rd(5) & (IOAPIC_RTE_PENDING | IOAPIC_RTE_REMOTE_IRR), 0);
    CU_ASSERT_EQUAL(rte_rd(5) >> 17 & 0x7FFFFFFFFFull, 0);     /* reserved 55:17 */
    CU_ASSERT_EQUAL(rte_rd(4), IOAPIC_RTE_MASKED);              /* its neighbours untouched */
    CU_ASSERT_EQUAL(rte_rd(6), IOAPIC_RTE_MASKED);
}

static void test_ioapic_edge(void)
{
    setup();
    rte_wr(4, 0x34);                                 /* fixed, edge, high, to APIC 0 */
    ioapic_set_irq(&io, 4, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x34);
    CU_ASSERT_FALSE(lp.tmr[0x34 / 32] >> (0x34 % 32) & 1);    /* edge: TMR clear */
    ioapic_set_irq(&io, 4, true, &lp);               /* held high: no new edge */
    eoi();
    CU_ASSERT_EQUAL(take(), -1);
    ioapic_set_irq(&io, 4, false, &lp);
    ioapic_set_irq(&io, 4, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x34);
    eoi();
    /* An edge while masked is ignored, not held for the unmask (82093AA
     * 3.2.4); the next edge after the unmask is delivered. */
    rte_wr(4, 0x34 | IOAPIC_RTE_MASKED);
    ioapic_set_irq(&io, 4, false, &lp);
    ioapic_set_irq(&io, 4, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
    rte_wr(4, 0x34);
    CU_ASSERT_EQUAL(take(), -1);
    ioapic_set_irq(&io, 4, false, &lp);
    ioapic_set_irq(&io, 4, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x34);
    eoi();
}

static void test_ioapic_level_remote_irr(void)
{
    setup();
    rte_wr(10, 0x51 | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(&io, 10, true, &lp);
    CU_ASSERT_TRUE(rte_rd(10) & IOAPIC_RTE_REMOTE_IRR);
    CU_ASSERT_TRUE(lp.tmr[0x51 / 32] >> (0x51 % 32) & 1);     /* level: TMR set */
    CU_ASSERT_EQUAL(take(), 0x51);
    CU_ASSERT_EQUAL(take(), -1);                     /* Remote IRR holds the rest back */
    /* EOI with the line still high: Remote IRR clears and it comes again. */
    eoi();
    CU_ASSERT_TRUE(rte_rd(10) & IOAPIC_RTE_REMOTE_IRR);
    CU_ASSERT_EQUAL(take(), 0x51);
    /* The device drops the line before the EOI: nothing more. */
    ioapic_set_irq(&io, 10, false, &lp);
    eoi();
    CU_ASSERT_FALSE(rte_rd(10) & IOAPIC_RTE_REMOTE_IRR);
    CU_ASSERT_EQUAL(take(), -1);
    /* An EOI for another vector leaves Remote IRR alone. */
    ioapic_set_irq(&io, 10, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x51);
    ioapic_eoi(&io, 0x52, &lp);
    CU_ASSERT_TRUE(rte_rd(10) & IOAPIC_RTE_REMOTE_IRR);
    /* The EOI register (ICH) clears it as the broadcast does. */
    ioapic_set_irq(&io, 10, false, &lp);
    mmio_wr(IOAPIC_MMIO_EOI, 0x51);
    CU_ASSERT_FALSE(rte_rd(10) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_ioapic_level_unmask_and_edge_switch(void)
{
    setup();
    rte_wr(11, 0x60 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
    ioapic_set_irq(&io, 11, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);                     /* masked */
    rte_wr(11, 0x60 | IOAPIC_RTE_LEVEL);             /* unmasked, still high: delivered */
    CU_ASSERT_EQUAL(take(), 0x60);
    CU_ASSERT_TRUE(rte_rd(11) & IOAPIC_RTE_REMOTE_IRR);
    /* Switching to edge clears Remote IRR (how an OS clears a stuck one). */
    rte_wr(11, 0x60 | IOAPIC_RTE_MASKED);
    CU_ASSERT_FALSE(rte_rd(11) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_ioapic_polarity(void)
{
    setup();
    /* Active low, level: an input held low is asserted. */
    rte_wr(9, 0x70 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_ACTIVE_LOW);
    CU_ASSERT_EQUAL(take(), 0x70);
    eoi();
    CU_ASSERT_EQUAL(take(), 0x70);                   /* still low: again */
    ioapic_set_irq(&io, 9, true, &lp);               /* high = inactive */
    eoi();
    CU_ASSERT_EQUAL(take(), -1);
    /* Active low, edge: the falling edge is the interrupt. */
    rte_wr(3, 0x71 | IOAPIC_RTE_ACTIVE_LOW);
    ioapic_set_irq(&io, 3, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
    ioapic_set_irq(&io, 3, false, &lp);
    CU_ASSERT_EQUAL(take(), 0x71);
}

static void test_ioapic_destinations(void)
{
    setup();
    rte_wr(1, 0x40 | 3ull << IOAPIC_RTE_DEST_SHIFT);     /* physical APIC 3: not ours */
    ioapic_set_irq(&io, 1, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
    rte_wr(1, 0x41 | 0xFFull << IOAPIC_RTE_DEST_SHIFT);  /* broadcast */
    ioapic_set_irq(&io, 1, false, &lp);
    ioapic_set_irq(&io, 1, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x41);
    eoi();
    /* Logical, flat model: LDR bit 0 matches destination 0x01, not 0x02. */
    lapic_wr(LAPIC_REG_LDR, 0x01000000u);
    rte_wr(1, 0x42 | IOAPIC_RTE_DEST_LOGICAL | (uint64_t)LAPIC_DM_LOWEST << IOAPIC_RTE_DM_SHIFT |
              0x02ull << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(&io, 1, false, &lp);
    ioapic_set_irq(&io, 1, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
    rte_wr(1, 0x43 | IOAPIC_RTE_DEST_LOGICAL | (uint64_t)LAPIC_DM_LOWEST << IOAPIC_RTE_DM_SHIFT |
              0x01ull << IOAPIC_RTE_DEST_SHIFT);
    ioapic_set_irq(&io, 1, false, &lp);
    ioapic_set_irq(&io, 1, true, &lp);
    CU_ASSERT_EQUAL(take(), 0x43);
}

static void test_ioapic_disabled_lapic_pending(void)
{
    setup();
    lapic_wr(LAPIC_REG_SVR, 0xFF);                   /* software-disabled */
    rte_wr(5, 0x55 | IOAPIC_RTE_LEVEL);
    ioapic_set_irq(&io, 5, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
    CU_ASSERT_TRUE(rte_rd(5) & IOAPIC_RTE_PENDING);  /* delivery status: send pending */
    CU_ASSERT_FALSE(rte_rd(5) & IOAPIC_RTE_REMOTE_IRR);
    lapic_wr(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | 0xFF);
    ioapic_retry(&io, &lp);
    CU_ASSERT_EQUAL(take(), 0x55);
    CU_ASSERT_FALSE(rte_rd(5) & IOAPIC_RTE_PENDING);
}

static void test_ioapic_nmi_extint(void)
{
    setup();
    rte_wr(7, (uint64_t)LAPIC_DM_NMI << IOAPIC_RTE_DM_SHIFT);
    ioapic_set_irq(&io, 7, true, &lp);
    CU_ASSERT_TRUE(lapic_nmi_pending(&lp));
    CU_ASSERT_EQUAL(take(), -1);
    lapic_nmi_ack(&lp);
    ioapic_set_irq(&io, 7, true, &lp);               /* no new edge */
    CU_ASSERT_FALSE(lapic_nmi_pending(&lp));
    /* ExtINT on pin 0: the 8259's INTR, the vector comes from the 8259. */
    CU_ASSERT_FALSE(ioapic_extint_pending(&io, &lp));
    rte_wr(0, (uint64_t)LAPIC_DM_EXTINT << IOAPIC_RTE_DM_SHIFT);
    ioapic_set_irq(&io, IOAPIC_PIN_8259_INTR, true, &lp);
    CU_ASSERT_TRUE(ioapic_extint_pending(&io, &lp));
    CU_ASSERT_EQUAL(take(), -1);                     /* no message to the IRR */
    ioapic_set_irq(&io, IOAPIC_PIN_8259_INTR, false, &lp);
    CU_ASSERT_FALSE(ioapic_extint_pending(&io, &lp));
    /* SMI and INIT entries deliver nothing here. */
    rte_wr(8, (uint64_t)LAPIC_DM_INIT << IOAPIC_RTE_DM_SHIFT | 0x30);
    ioapic_set_irq(&io, 8, true, &lp);
    CU_ASSERT_EQUAL(take(), -1);
}

static void test_ioapic_lapic_level_eoi(void)
{
    /* The LAPIC side: an edge interrupt's EOI is not broadcast, a level
     * one's is, once, for the highest in-service vector. */
    setup();
    CU_ASSERT_TRUE(lapic_message(&lp, LAPIC_DM_FIXED, 0x80, true, false, 0));
    CU_ASSERT_TRUE(lapic_message(&lp, LAPIC_DM_FIXED, 0x90, false, false, 0));
    CU_ASSERT_EQUAL(take(), 0x90);
    lapic_wr(LAPIC_REG_EOI, 0);
    CU_ASSERT_EQUAL(lapic_take_eoi_broadcast(&lp), -1);
    CU_ASSERT_EQUAL(take(), 0x80);
    lapic_wr(LAPIC_REG_EOI, 0);
    CU_ASSERT_EQUAL(lapic_take_eoi_broadcast(&lp), 0x80);
    CU_ASSERT_EQUAL(lapic_take_eoi_broadcast(&lp), -1);
    /* Illegal vectors are refused with the ESR's receive error. */
    CU_ASSERT_TRUE(lapic_message(&lp, LAPIC_DM_FIXED, 0x05, true, false, 0));
    CU_ASSERT_EQUAL(take(), -1);
    lapic_wr(LAPIC_REG_ESR, 0);
    uint32_t esr = 0;
    CU_ASSERT_TRUE(lapic_mmio(&lp, LAPIC_REG_ESR, false, &esr, 0));
    CU_ASSERT_EQUAL(esr, LAPIC_ESR_RECV_ILLEGAL_VECTOR);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_ioapic_hostile(void)
{
    /* Random register traffic, pin changes and EOIs: no crash (ASan/UBSan),
     * the invariants hold: read-only bits never set by writes alone,
     * Remote IRR only on level entries, the version register fixed. */
    setup();
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t r = rnd();
        uint32_t v = (uint32_t)(r >> 32);
        switch (r % 6) {
        case 0: {
            uint32_t off = (uint32_t)(r >> 8) % (IOAPIC_PAGE_SIZE + 16);
            ioapic_mmio(&io, off, 1u << (r >> 20 & 3), (r >> 23) & 1, &v, &lp);
            break;
        }
        case 1: reg_wr((uint32_t)(r >> 8) & 0xFF, v); break;
        case 2: ioapic_set_irq(&io, (unsigned)(r >> 8) % 30, (r >> 16) & 1, &lp); break;
        case 3: ioapic_eoi(&io, (uint8_t)(r >> 8), &lp); break;
        case 4: take(); eoi(); break;
        default: lapic_wr(LAPIC_REG_SVR, (r >> 8) & 1 ? 0x1FF : 0xFF); ioapic_retry(&io, &lp); break;
        }
        CU_ASSERT_EQUAL(reg_rd(IOAPIC_IDX_VERSION), IOAPIC_VERSION_REG);
    }
    for (unsigned p = 0; p < IOAPIC_PINS; p++) {
        uint64_t e = rte_rd(p);
        if (!(e & IOAPIC_RTE_LEVEL))
            CU_ASSERT_FALSE(e & IOAPIC_RTE_REMOTE_IRR);
        CU_ASSERT_EQUAL(e & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_PENDING | IOAPIC_RTE_REMOTE_IRR), 0);
    }
}

UNIT_SUITE(ioapic_suite)
{
    CU_pSuite s = CU_add_suite("I/O APIC (82093AA/ICH) with the LAPIC", NULL, NULL);
    CU_add_test(s, "reset state, ID, version, IOREGSEL", test_ioapic_reset_and_ids);
    CU_add_test(s, "undefined registers, offsets and sizes", test_ioapic_undefined);
    CU_add_test(s, "redirection entry bits", test_ioapic_rte_bits);
    CU_add_test(s, "edge-triggered: one per edge, masked edges lost", test_ioapic_edge);
    CU_add_test(s, "level-triggered: Remote IRR and the EOI", test_ioapic_level_remote_irr);
    CU_add_test(s, "level: unmask delivers, edge switch clears", test_ioapic_level_unmask_and_edge_switch);
    CU_add_test(s, "polarity", test_ioapic_polarity);
    CU_add_test(s, "physical, broadcast and logical destinations", test_ioapic_destinations);
    CU_add_test(s, "disabled LAPIC: delivery status pending", test_ioapic_disabled_lapic_pending);
    CU_add_test(s, "NMI, ExtINT, INIT entries", test_ioapic_nmi_extint);
    CU_add_test(s, "LAPIC: TMR and the EOI broadcast", test_ioapic_lapic_level_eoi);
    CU_add_test(s, "hostile register traffic", test_ioapic_hostile);
}

/* ------------------ ACPI PM1 registers (devices/acpi_pm.c) ------------------ */
#include "devices/acpi_pm.h"

static void test_acpi_pm1(void)
{
    acpi_pm_t pm;
    acpi_pm_init(&pm);
    uint32_t v = 0;
    CU_ASSERT_FALSE(acpi_pm_io(&pm, 0x5FF, true, 1, &v));       /* not ours */
    CU_ASSERT_FALSE(acpi_pm_io(&pm, 0x606, true, 2, &v));
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, true, 2, &v));
    CU_ASSERT_EQUAL(v, ACPI_PM1_CNT_SCI_EN);                     /* always in ACPI mode */
    v = 0;                                                       /* SCI_EN is read-only */
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, false, 2, &v));
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, true, 2, &v));
    CU_ASSERT_EQUAL(v, ACPI_PM1_CNT_SCI_EN);
    v = ACPI_PM1_CNT_SLP_EN | 0x1400;                            /* SLP_TYP 5, SLP_EN */
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, false, 2, &v));
    CU_ASSERT_EQUAL(pm.sleep_requests, 1);
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, true, 2, &v));
    CU_ASSERT_EQUAL(v, 0x1400 | ACPI_PM1_CNT_SCI_EN);            /* SLP_EN reads 0 */
    /* PM1_EN: only its defined bits; PM1_STS: nothing set, write-1-to-clear. */
    v = 0xFFFF;
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_EVT_PORT + 2, false, 2, &v));
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_EVT_PORT, true, 4, &v));
    CU_ASSERT_EQUAL(v, (uint32_t)ACPI_PM1_EN_WRITABLE << 16);
    v = 0xFFFFFFFFu;
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_EVT_PORT, false, 4, &v));   /* clears STS, sets EN */
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_EVT_PORT, true, 2, &v));
    CU_ASSERT_EQUAL(v, 0);
    /* A dword at the control block's last byte: one byte ours, the rest ones. */
    CU_ASSERT_TRUE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT + 1, true, 4, &v));
    CU_ASSERT_EQUAL(v, 0xFFFFFF14u);
    CU_ASSERT_FALSE(acpi_pm_io(&pm, ACPI_PM1A_CNT_PORT, true, 3, &v));    /* no such size */
}

UNIT_SUITE(acpi_pm_suite)
{
    CU_pSuite s = CU_add_suite("ACPI PM1 event and control registers", NULL, NULL);
    CU_add_test(s, "SCI_EN, SLP_EN, enable and status bits, widths", test_acpi_pm1);
}
