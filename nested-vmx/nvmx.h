/*
 * nested-vmx/nvmx.h - virtual VMX for one vCPU of a guest hypervisor (L1):
 * the VMX instructions as the SDM defines them for a CPU in VMX root
 * operation (SDM Vol. 3C 23-30, Vol. 2C "VMX instruction reference"),
 * executed on L1's state as nested-vmx receives it at the instruction's VM
 * exit. Pure logic: L1's memory is reached through nvmx_env_t, so the
 * unit tests run it on the host against a fake L1.
 *
 * The caller (serve.c) hands each exit of a VMX instruction to
 * nvmx_instruction() with L1's state (nestor_vcpu_state_t, every group
 * fetched) and acts on the result:
 *   NVMX_DONE       the instruction completed (VMsucceed or VMfail): RIP,
 *                   RFLAGS and any register it wrote are updated in the
 *                   state; memory it wrote is written.
 *   NVMX_FAULT      an exception for L1 (r->vector, r->error_code if
 *                   r->has_error, r->cr2 for #PF): the state is unchanged.
 *   NVMX_ENTER      VMLAUNCH/VMRESUME passed the instruction's own checks
 *                   (SDM 30.3: VMX operation, a current VMCS, launch state,
 *                   no MOV-SS blocking); entry checks (SDM 26.2, 26.3) and
 *                   running L2 are the caller's (r->launch says which).
 *   NVMX_INVALIDATE INVEPT/INVVPID succeeded: the state is updated as for
 *                   DONE; r->inv_* say what L1 invalidated, for the caller
 *                   to drop what it built from it (SDM 28.3.3, 28.4.3).
 */
#ifndef NVMX_H
#define NVMX_H
#include "vmcs12.h"
#include <nestor/vcpu.h>
#include <stddef.h>

/* Current-VMCS pointer when there is none (SDM 24.1). */
#define NVMX_NO_VMCS  0xFFFFFFFFFFFFFFFFULL

/* How L1's memory is reached. */
typedef enum {
    NVMX_MEM_OK,
    NVMX_MEM_PAGE_FAULT,   /* *fault has the #PF error code and address */
    NVMX_MEM_NOT_RAM,      /* a guest-physical address outside L1's RAM */
    NVMX_MEM_EPT12,        /* L2's access refused by EPT12 (monitor.h l2mem_linear) */
} nvmx_mem_t;

typedef struct {
    void *ctx;
    /* L1's RAM at guest-physical [@gpa, @gpa + @n): a pointer into it, or
     * NULL if any byte of it is not RAM. */
    void *(*phys)(void *ctx, uint64_t gpa, size_t n);
    /* Copy @n bytes between L1 linear address @la (through L1's paging, as
     * an access at CPL @cpl would: SDM 4.6) and @buf. On a page fault the
     * #PF error code is in *@error and the faulting address in *@addr. */
    nvmx_mem_t (*linear)(void *ctx, const nestor_vcpu_state_t *s, uint64_t la, void *buf,
                         size_t n, bool write, uint32_t *error, uint64_t *addr);
    unsigned maxphyaddr;   /* L1's physical-address width (CPUID 80000008H:EAX[7:0]) */
    /* Bring the stale guest-state groups of the current VMCS
     * (nvmx_vcpu_t.stale) into it from L2's VCPU, and clear them
     * (l2.c l2_sync12): called before anything observes or changes them. */
    void (*sync)(void *ctx);
} nvmx_env_t;

/*
 * Lazy L2 guest state (nested-vmx/README.md "Lazy L2 guest state"): the
 * groups (nestor/vcpu.h NESTOR_MTD_*) of vmcs12's guest-state area that a
 * reflected exit may leave unwritten, vcpu02 holding their current values:
 * the data segment registers, LDTR/TR/GDTR/IDTR and the PDPTEs. None of
 * their fields is in the shadow VMCS nested-vmx binds for L1 (shadow12.c).
 */
#define NVMX_LAZY_GROUPS (NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS | NESTOR_MTD_PDPTE)

/* The lazy group of vmcs12 slot @slot (V12_*), 0 if it is in none. */
uint64_t nvmx_lazy_group(unsigned slot);

/* The VMX state of one L1 vCPU (SDM 23.3, 24.1). */
#define NVMX_DIRTY_WORDS ((NVMX_FIELD_COUNT + 63) / 64)

typedef struct {
    bool vmxon;               /* in VMX operation */
    uint64_t vmxon_ptr;       /* the VMXON region */
    uint64_t current;         /* current-VMCS pointer, NVMX_NO_VMCS if none */
    /* vmcs12 fields L1 wrote with VMWRITE since L2's last entry (a bit per
     * V12_ slot): what a VMRESUME must load again (l2.c). Changing the
     * current VMCS makes everything dirty (l2.c compares pointers). */
    uint64_t dirty[NVMX_DIRTY_WORDS];
    /* NVMX_LAZY_GROUPS whose vmcs12 fields are stale: L2's last exit
     * (from the current VMCS, SDM 27.3) left them in vcpu02. Nonzero only
     * while the current VMCS is the one L2 exited from; env->sync makes it
     * 0 (VMREAD/VMWRITE of such a field, VMCLEAR, VMPTRLD, VMXOFF). */
    uint64_t stale;
} nvmx_vcpu_t;

typedef enum { NVMX_DONE, NVMX_FAULT, NVMX_ENTER, NVMX_INVALIDATE } nvmx_status_t;

typedef struct {
    nvmx_status_t status;
    /* NVMX_FAULT */
    uint8_t vector;
    bool has_error;
    uint32_t error_code;
    uint64_t cr2;
    /* NVMX_ENTER */
    bool launch;              /* VMLAUNCH (else VMRESUME) */
    /* NVMX_INVALIDATE */
    bool inv_ept;             /* INVEPT (else INVVPID) */
    uint64_t inv_type;        /* INVEPT_* / INVVPID_* */
    uint64_t inv_eptp;        /* INVEPT single-context: the EPTP */
    uint16_t inv_vpid;        /* INVVPID: the VPID (not all-context) */
    uint64_t inv_addr;        /* INVVPID individual-address: the address */
    /* NVMX_DONE by VMfail: the error number (0: VMsucceed,
     * NVMX_VMFAIL_INVALID: VMfailInvalid) */
    uint32_t vm_error;
    /* NVMX_DONE by a VMCLEAR that succeeded: the VMCS it cleared */
    uint64_t cleared;
} nvmx_result_t;

/* nvmx_result_t.vm_error of VMfailInvalid (SDM 30.2). */
#define NVMX_VMFAIL_INVALID 0xFFFFFFFFu

/* The exit of a VMX instruction as the kernel reported it. */
typedef struct {
    uint32_t reason;          /* NESTOR_EXIT_VMCLEAR ... NESTOR_EXIT_INVVPID */
    uint64_t qualification;   /* the displacement of a memory operand (SDM 27.2.1) */
    uint32_t instr_info;      /* SDM 27.2.5 (x86_vmx.h VMX_II_*) */
    uint32_t instr_len;
} nvmx_insn_t;

/* Execute one VMX instruction of L1. @s holds L1's state (all groups); it
 * is updated as the instruction would update it. */
nvmx_result_t nvmx_instruction(nvmx_vcpu_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s,
                               const nvmx_insn_t *insn);

/* L2's VMREAD/VMWRITE (@insn; @s2 L2's state) while L1's vmcs12 @v12 runs
 * it. nvmx_l2_shadow_exits: whether it exits to L1 (SDM 25.1.3: "VMCS
 * shadowing" 0, field operand bits 63:15 set, or its bit set in L1's
 * VMREAD/VMWRITE bitmap; a memory operand too: not carried out here).
 * Otherwise nvmx_l2_shadow_access carries it out on the shadow VMCS that
 * vmcs12's link pointer references (SDM Vol. 2C VMREAD/VMWRITE in VMX
 * non-root operation, 24.10): NVMX_FAULT for L2, or NVMX_DONE with @s2
 * updated (GPRs, RIP, RFLAGS, interruptibility) and vm_error as for L1. */
bool nvmx_l2_shadow_exits(const vmcs12_t *v12, const nvmx_env_t *env, nestor_vcpu_state_t *s2,
                          const nvmx_insn_t *insn);
nvmx_result_t nvmx_l2_shadow_access(vmcs12_t *v12, const nvmx_env_t *env, nestor_vcpu_state_t *s2,
                                    const nvmx_insn_t *insn);

/* The current VMCS (L1's memory), or NULL if there is none. */
vmcs12_t *nvmx_current(const nvmx_vcpu_t *v, const nvmx_env_t *env);

/* VMsucceed / VMfail on @s (SDM 30.2): RFLAGS and, for VMfailValid, the
 * current VMCS's VM-instruction error field; also RIP past the instruction
 * (@len, wrapping at 32 or 16 bits outside 64-bit mode), and blocking by
 * STI / MOV SS ends as the instruction retired (s->interruptibility: the
 * caller loads NESTOR_MTD_INTR back). VMfail picks VMfailValid when there
 * is a current VMCS. Used by the instruction code and by the caller for
 * entry-check failures. */
void nvmx_succeed(nestor_vcpu_state_t *s, uint32_t len);
void nvmx_fail(nvmx_vcpu_t *v, const nvmx_env_t *env, nestor_vcpu_state_t *s, uint32_t len,
               uint32_t error);

/* Whether VM entry with "enable EPT" accepts @eptp (SDM 26.2.1.1) on L1
 * with physical-address width @maxphyaddr, given the EPT capabilities
 * nested-vmx reports (nvmx_caps.h). INVEPT single-context uses it; so may
 * the entry checks. */
bool nvmx_eptp_valid(uint64_t eptp, unsigned maxphyaddr);

/* RDMSR/WRMSR of the MSRs nested-vmx owns (IA32_FEATURE_CONTROL, the VMX
 * capability MSRs: nvmx_caps.h). 1: handled (*value for RDMSR); 0: not an
 * MSR of ours (pass the exit on); -1: #GP(0) (a write to a read-only or
 * locked MSR, IA32_VMX_VMFUNC). */
int nvmx_rdmsr(uint32_t msr, uint64_t *value);
int nvmx_wrmsr(uint32_t msr, uint64_t value);

/* Whether a MOV to CR4 of @value is allowed: in VMX operation CR4.VMXE
 * may not be cleared, nor a bit outside NVMX_CR4_FIXED1 set (SDM 23.8:
 * #GP(0)); outside it, always. */
bool nvmx_cr4_write_ok(const nvmx_vcpu_t *v, uint64_t value);

/* Whether @v's VMX operation, VMXON pointer and current-VMCS pointer are
 * what VMXON and VMPTRLD could have left on L1 of @env (SDM Vol. 2C VMXON,
 * VMPTRLD: alignment, physical-address width, the regions' revisions, the
 * current VMCS not the VMXON region): a record loaded from a checkpoint
 * (nvmx_state.h) is taken only then. */
bool nvmx_vcpu_valid(const nvmx_vcpu_t *v, const nvmx_env_t *env);

#endif
