/*
 * vmm-server/devices/acpi_pm.c - ACPI PM1 event and control registers (see
 * acpi_pm.h; ACPI 6.5 4.8.3.1-4.8.3.2).
 */
#include "devices/acpi_pm.h"
#include <string.h>

void acpi_pm_init(acpi_pm_t *pm)
{
    memset(pm, 0, sizeof *pm);
}

/* The 16-bit register holding port @port and the byte's shift in it. */
static uint16_t *reg(acpi_pm_t *pm, uint16_t port, unsigned *shift)
{
    *shift = (port & 1) * 8;
    switch (port & ~1u) {
    case ACPI_PM1A_EVT_PORT:     return &pm->sts;
    case ACPI_PM1A_EVT_PORT + 2: return &pm->en;
    case ACPI_PM1A_CNT_PORT:     return &pm->cnt;
    default:                     return NULL;
    }
}

static uint8_t read_byte(acpi_pm_t *pm, uint16_t port)
{
    unsigned sh;
    uint16_t *r = reg(pm, port, &sh);
    if (!r)
        return 0xFF;
    uint16_t v = *r;
    if (r == &pm->cnt)
        v |= ACPI_PM1_CNT_SCI_EN;
    return (uint8_t)(v >> sh);
}

static void write_byte(acpi_pm_t *pm, uint16_t port, uint8_t b)
{
    unsigned sh;
    uint16_t *r = reg(pm, port, &sh);
    if (!r)
        return;
    uint16_t v = (uint16_t)(b << sh), byte = (uint16_t)(0xFFu << sh);
    if (r == &pm->sts) {
        /* 4.8.3.1: status bits are cleared by writing 1. */
        pm->sts &= (uint16_t)~(v & ACPI_PM1_STS_WRITABLE);
    } else if (r == &pm->en) {
        pm->en = (uint16_t)((pm->en & ~(byte & ACPI_PM1_EN_WRITABLE)) | (v & ACPI_PM1_EN_WRITABLE));
    } else {
        if (v & ACPI_PM1_CNT_SLP_EN)
            pm->sleep_requests++;
        pm->cnt = (uint16_t)((pm->cnt & ~(byte & ACPI_PM1_CNT_WRITABLE)) |
                             (v & ACPI_PM1_CNT_WRITABLE));
    }
}

static bool ours(uint16_t port)
{
    return (port >= ACPI_PM1A_EVT_PORT && port < ACPI_PM1A_EVT_PORT + ACPI_PM1_EVT_LEN) ||
           (port >= ACPI_PM1A_CNT_PORT && port < ACPI_PM1A_CNT_PORT + ACPI_PM1_CNT_LEN);
}

bool acpi_pm_io(acpi_pm_t *pm, uint16_t port, bool in, unsigned size, uint32_t *value)
{
    if (size != 1 && size != 2 && size != 4)
        return false;
    bool any = false;
    for (unsigned i = 0; i < size; i++)
        any |= ours((uint16_t)(port + i));
    if (!any)
        return false;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        if (in)
            v |= (uint32_t)read_byte(pm, p) << (8 * i);
        else
            write_byte(pm, p, (uint8_t)(*value >> (8 * i)));
    }
    if (in)
        *value = v;
    return true;
}
