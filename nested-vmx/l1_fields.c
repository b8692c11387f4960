/*
 * nested-vmx/l1_fields.c - L1's VMREAD and VMWRITE counted by field
 * (l1_fields.h).
 */
#include "l1_fields.h"
#include "monitor.h"
#include "nvmx_insn.h"
#include <user/print.h>

/* Counts per vmcs12 slot (V12_*), the last row for unknown encodings. One
 * nested-vmx process serves one VM (main.c), so one table. */
enum { ACC_READ, ACC_WRITE, ACCESSES };
#define OTHER_FIELD NVMX_FIELD_COUNT
#define REPORT_LINES 20              /* fields listed one per line; the rest summed */
static uint64_t counts[NVMX_FIELD_COUNT + 1][ACCESSES];

void l1_fields_count(struct nvmx_monitor *m, nestor_vcpu_state_t *s, const nvmx_insn_t *insn)
{
    (void)m;
    /* SDM 27.2.5, Table 27-13/14: register 2 of the instruction information
     * holds the field encoding for both instructions. */
    uint64_t enc = nvmx_reg_operand(s, VMX_II_REG2(insn->instr_info));
    int slot = enc >> 32 ? -1 : vmcs12_index((uint32_t)enc, NULL);
    counts[slot < 0 ? OTHER_FIELD : slot][insn->reason == NESTOR_EXIT_VMREAD ? ACC_READ
                                                                            : ACC_WRITE]++;
}

static uint64_t total(unsigned slot)
{
    return counts[slot][ACC_READ] + counts[slot][ACC_WRITE];
}

void l1_fields_report(const struct nvmx_monitor *m)
{
    /* Most used first, by repeated maximum (the table is small and this
     * runs at a query, off the exit path); the rest summed on one line. */
    bool shown[NVMX_FIELD_COUNT + 1] = { false };
    uint64_t rest_fields = 0, rest = 0;
    for (unsigned line = 0;; line++) {
        unsigned best = 0;
        uint64_t most = 0;
        for (unsigned i = 0; i <= NVMX_FIELD_COUNT; i++)
            if (!shown[i] && total(i) > most) {
                most = total(i);
                best = i;
            }
        if (!most)
            break;
        shown[best] = true;
        if (line >= REPORT_LINES) {
            rest_fields++;
            rest += most;
        } else if (best == OTHER_FIELD) {
            printf("nested-vmx %s: L1 field other: %lu VMREAD, %lu VMWRITE\n", m->name,
                   counts[best][ACC_READ], counts[best][ACC_WRITE]);
        } else {
            printf("nested-vmx %s: L1 field 0x%04x: %lu VMREAD, %lu VMWRITE\n", m->name,
                   vmcs12_encoding(best), counts[best][ACC_READ], counts[best][ACC_WRITE]);
        }
    }
    if (rest_fields)
        printf("nested-vmx %s: L1 fields, %lu more: %lu VMREAD/VMWRITE in all\n", m->name,
               rest_fields, rest);
}
