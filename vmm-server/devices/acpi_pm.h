/*
 * vmm-server/devices/acpi_pm.h - the ACPI fixed hardware a full (not
 * hardware-reduced) FADT requires: the PM1a event block (PM1_STS, PM1_EN)
 * and the PM1a control block (PM1_CNT) in I/O space (ACPI 6.5 4.8.3.1
 * "PM1 Event Grouping", 4.8.3.2 "PM1 Control Grouping", Tables 4.13-4.16).
 * No PM timer (PM_TMR_LEN 0 in the FADT), no GPE blocks, no sleep states:
 * nothing here ever raises the SCI. The machine is always in ACPI mode
 * (FADT SMI_CMD 0): SCI_EN reads 1.
 */
#ifndef VMM_DEVICES_ACPI_PM_H
#define VMM_DEVICES_ACPI_PM_H
#include <stdbool.h>
#include <stdint.h>

#define ACPI_PM1A_EVT_PORT   0x600u   /* PM1_STS at +0, PM1_EN at +2 */
#define ACPI_PM1_EVT_LEN     4u
#define ACPI_PM1A_CNT_PORT   0x604u
#define ACPI_PM1_CNT_LEN     2u
#define ACPI_SCI_IRQ         9u       /* FADT SCI_INT: ISA IRQ 9, level, active high */

/* PM1_STS (Table 4.14): write 1 to clear; nothing sets them here. */
#define ACPI_PM1_STS_WRITABLE 0x8F31u /* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE, WAK */
/* PM1_EN (Table 4.15): TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, SLPBTN_EN 9, RTC_EN 10, PCIEXP_WAKE_DIS 14. */
#define ACPI_PM1_EN_WRITABLE  0x4721u
/* PM1_CNT (Table 4.16). */
#define ACPI_PM1_CNT_SCI_EN   0x0001u /* read-only 1: always in ACPI mode */
#define ACPI_PM1_CNT_BM_RLD   0x0002u
#define ACPI_PM1_CNT_GBL_RLS  0x0004u /* write-only */
#define ACPI_PM1_CNT_SLP_TYP  0x1C00u
#define ACPI_PM1_CNT_SLP_EN   0x2000u /* write-only: enter the sleep state SLP_TYP */
#define ACPI_PM1_CNT_WRITABLE (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP)

typedef struct {
    uint16_t sts, en, cnt;
    unsigned sleep_requests;          /* SLP_EN writes (no sleep state is offered) */
} acpi_pm_t;

void acpi_pm_init(acpi_pm_t *pm);
/* A port access of @size bytes (1, 2, 4) at @port: false (nothing done) if
 * no byte of it is the PM1 blocks'. Bytes of a wider access that fall
 * outside the blocks read as ones. */
bool acpi_pm_io(acpi_pm_t *pm, uint16_t port, bool in, unsigned size, uint32_t *value);

#endif
