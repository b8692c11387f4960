/*
 * nested-vmx/l1_fields.h - L1's VMREAD and VMWRITE counted by field: which
 * fields a guest hypervisor touches most, measured (issue 11: those are
 * the ones worth a shadow VMCS, SDM Vol. 3C 24.10). Logged at the VMM's
 * count query, one line per field L1 used:
 *   nested-vmx NAME: L1 field 0x681e: 1100 VMREAD, 1100 VMWRITE
 * the 20 most used first, the rest summed on one line; encodings
 * nested-vmx does not know count as "other".
 */
#ifndef NVMX_L1_FIELDS_H
#define NVMX_L1_FIELDS_H
#include "nvmx.h"

struct nvmx_monitor;

/* One VMREAD or VMWRITE exit of L1 (@insn), with L1's state @s. */
void l1_fields_count(struct nvmx_monitor *m, nestor_vcpu_state_t *s, const nvmx_insn_t *insn);
void l1_fields_report(const struct nvmx_monitor *m);

#endif
