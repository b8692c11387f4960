/*
 * kernel/vcpu.h - VCPU objects: a VMCS (first page) and the kernel's vcpu_t
 * (second page). See nestor/vcpu.h for the user-visible model.
 */
#ifndef KERNEL_VCPU_H
#define KERNEL_VCPU_H
#include "kernel/objects.h"
#include <nestor/vcpu.h>

#define VCPU_GPRS 15
#define EXIT_TABLE_SLOTS (1u << NESTOR_EXIT_TABLE_RADIX)

enum { VCPU_CTE_EPT, VCPU_CTE_STATE_PAGE, VCPU_CTE_EXIT_TABLE, VCPU_CTE_COUNT };

typedef struct vcpu {
    uint64_t gprs[VCPU_GPRS];       /* guest registers, trap_frame_t order (asm) */
    uint64_t cr2;                   /* must follow gprs: HOST_RSP points here */
    tcb_t *tcb;                     /* the vCPU thread, or NULL */
    uint64_t vmcs_pa;
    uint64_t eptp;                  /* EPT pointer last written to the VMCS */
    uint32_t vpid;
    uint8_t launched;
    uint8_t pause_pending;          /* NESTOR_VCPU_PAUSE: exit at the next entry */
    uint8_t pause_armed;            /* the preemption timer is set to 0 for it */
    uint8_t reserved[1];
    uint16_t exit_mask[EXIT_TABLE_SLOTS];
    cte_t ctes[VCPU_CTE_COUNT];
} vcpu_t;

#define VCPU_KERNEL_OFFSET 4096
_Static_assert(sizeof(vcpu_t) <= (1u << NESTOR_VCPU_BITS) - VCPU_KERNEL_OFFSET, "vcpu_t size");

static inline vcpu_t *cap_vcpu(const cap_t *c)
{
    return (vcpu_t *)kobj_ptr(c->obj + VCPU_KERNEL_OFFSET);
}

/* Retype: a fresh VMCS with host state and controls. False if no VMX. */
bool vcpu_init_object(kaddr_t obj);
/* Whether VCPUs can be made (VMX enabled at boot). */
bool vcpu_supported(void);
/* Whether @count more VCPUs can get a VPID. */
bool vcpu_can_create(uint64_t count);
/* The last capability to the VCPU is going. */
void vcpu_finalise(vcpu_t *v);
/* Enter the guest of the vCPU thread @t (the scheduler's choice). */
__attribute__((noreturn)) void vcpu_run(tcb_t *t);
/* A handler replied to an exit: load the groups in @mask from the state page. */
void vcpu_resume_from_exit(tcb_t *t, uint64_t mask);
/* VMCS access and state page loads for invocations. */
uint64_t vcpu_vmcs_read(vcpu_t *v, uint64_t field);
void vcpu_vmcs_write(vcpu_t *v, uint64_t field, uint64_t value);
void vcpu_load_from_state_page(vcpu_t *v, uint64_t mask);

#endif
