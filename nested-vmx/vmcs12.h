/*
 * nested-vmx/vmcs12.h - vmcs12: the VMCS a guest hypervisor (L1) sees.
 *
 * Where it lives. A VMCS region is 4 KiB of L1's memory (IA32_VMX_BASIC
 * says so, SDM A.1). Its first word is the revision identifier L1 writes
 * (bit 31 the shadow-VMCS indicator, SDM 24.2), its second the VMX-abort
 * indicator; the rest is "implementation-specific" and software must touch
 * it only through VMREAD/VMWRITE (SDM 24.2, 24.11.1). nested-vmx keeps the
 * whole VMCS there, in the layout below: the launch state and one 64-bit
 * slot per supported field. Many VMCSs, VMCLEAR and VMPTRLD then need no
 * table of our own, and L1 writing the region behind our back changes
 * nothing L1 could not set by VMWRITE: every value is checked again at VM
 * entry before anything is built from it (SDM 24.11.1 makes such writes
 * undefined; here they are harmless).
 *
 * What is supported. NVMX_FIELDS lists every field of SDM Vol. 3D Appendix
 * B that the capabilities nested-vmx advertises (nvmx_caps.h) imply; the
 * encodings come from the kernel's field table (nestor/vmcs.h). VMREAD or
 * VMWRITE of any other encoding fails with VMXERR_UNSUPPORTED_FIELD, as on
 * a CPU without that feature (SDM 30.3 VMREAD/VMWRITE).
 */
#ifndef NVMX_VMCS12_H
#define NVMX_VMCS12_H
#include <nestor/vmcs.h>
#include <stdbool.h>
#include <stdint.h>
#include <x86_vmx.h>

/* X(name): VMCS_<name> (nestor/vmcs.h) is the encoding. */
#define NVMX_FIELDS(X)                                                            \
    /* 16-bit control (B.1.1): VPID with "enable VPID" */                          \
    X(VPID)                                                                       \
    /* 16-bit guest state (B.1.2) */                                              \
    X(GUEST_ES_SEL) X(GUEST_CS_SEL) X(GUEST_SS_SEL) X(GUEST_DS_SEL)               \
    X(GUEST_FS_SEL) X(GUEST_GS_SEL) X(GUEST_LDTR_SEL) X(GUEST_TR_SEL)             \
    /* 16-bit host state (B.1.3) */                                               \
    X(HOST_ES_SEL) X(HOST_CS_SEL) X(HOST_SS_SEL) X(HOST_DS_SEL)                   \
    X(HOST_FS_SEL) X(HOST_GS_SEL) X(HOST_TR_SEL)                                  \
    /* 64-bit control (B.2.1) */                                                  \
    X(IO_BITMAP_A) X(IO_BITMAP_B) X(MSR_BITMAP) X(EXIT_MSR_STORE_ADDR)            \
    X(EXIT_MSR_LOAD_ADDR) X(ENTRY_MSR_LOAD_ADDR) X(EXECUTIVE_VMCS_PTR)            \
    X(TSC_OFFSET) X(EPT_POINTER) X(VMREAD_BITMAP) X(VMWRITE_BITMAP)               \
    /* 64-bit read-only data (B.2.2) */                                           \
    X(GUEST_PHYS_ADDR)                                                            \
    /* 64-bit guest state (B.2.3) */                                              \
    X(LINK_POINTER) X(GUEST_DEBUGCTL) X(GUEST_PAT) X(GUEST_EFER)                  \
    X(GUEST_PDPTE0) X(GUEST_PDPTE1) X(GUEST_PDPTE2) X(GUEST_PDPTE3)               \
    /* 64-bit host state (B.2.4) */                                               \
    X(HOST_PAT) X(HOST_EFER)                                                      \
    /* 32-bit control (B.3.1) */                                                  \
    X(PIN_CONTROLS) X(PROC_CONTROLS) X(EXCEPTION_BITMAP) X(PF_ERROR_MASK)         \
    X(PF_ERROR_MATCH) X(CR3_TARGET_COUNT) X(EXIT_CONTROLS)                        \
    X(EXIT_MSR_STORE_COUNT) X(EXIT_MSR_LOAD_COUNT) X(ENTRY_CONTROLS)              \
    X(ENTRY_MSR_LOAD_COUNT) X(ENTRY_INTR_INFO) X(ENTRY_EXCEPTION_ERROR)           \
    X(ENTRY_INSTR_LEN) X(PROC_CONTROLS2)                                          \
    /* 32-bit read-only data (B.3.2) */                                           \
    X(INSTR_ERROR) X(EXIT_REASON) X(EXIT_INTR_INFO) X(EXIT_INTR_ERROR)            \
    X(IDT_VECTORING_INFO) X(IDT_VECTORING_ERROR) X(EXIT_INSTR_LEN)                \
    X(EXIT_INSTR_INFO)                                                            \
    /* 32-bit guest state (B.3.3) */                                              \
    X(GUEST_ES_LIMIT) X(GUEST_CS_LIMIT) X(GUEST_SS_LIMIT) X(GUEST_DS_LIMIT)       \
    X(GUEST_FS_LIMIT) X(GUEST_GS_LIMIT) X(GUEST_LDTR_LIMIT) X(GUEST_TR_LIMIT)     \
    X(GUEST_GDTR_LIMIT) X(GUEST_IDTR_LIMIT)                                       \
    X(GUEST_ES_AR) X(GUEST_CS_AR) X(GUEST_SS_AR) X(GUEST_DS_AR)                   \
    X(GUEST_FS_AR) X(GUEST_GS_AR) X(GUEST_LDTR_AR) X(GUEST_TR_AR)                 \
    X(GUEST_INTERRUPTIBILITY) X(GUEST_ACTIVITY) X(GUEST_SMBASE)                   \
    X(GUEST_SYSENTER_CS) X(PREEMPT_TIMER_VALUE)                                   \
    /* 32-bit host state (B.3.4) */                                               \
    X(HOST_SYSENTER_CS)                                                           \
    /* natural-width control (B.4.1) */                                           \
    X(CR0_MASK) X(CR4_MASK) X(CR0_SHADOW) X(CR4_SHADOW)                           \
    X(CR3_TARGET0) X(CR3_TARGET1) X(CR3_TARGET2) X(CR3_TARGET3)                   \
    /* natural-width read-only data (B.4.2) */                                    \
    X(EXIT_QUALIFICATION) X(IO_RCX) X(IO_RSI) X(IO_RDI) X(IO_RIP)                 \
    X(GUEST_LINEAR_ADDR)                                                          \
    /* natural-width guest state (B.4.3) */                                       \
    X(GUEST_CR0) X(GUEST_CR3) X(GUEST_CR4) X(GUEST_ES_BASE) X(GUEST_CS_BASE)      \
    X(GUEST_SS_BASE) X(GUEST_DS_BASE) X(GUEST_FS_BASE) X(GUEST_GS_BASE)           \
    X(GUEST_LDTR_BASE) X(GUEST_TR_BASE) X(GUEST_GDTR_BASE) X(GUEST_IDTR_BASE)     \
    X(GUEST_DR7) X(GUEST_RSP) X(GUEST_RIP) X(GUEST_RFLAGS) X(GUEST_PENDING_DBG)   \
    X(GUEST_SYSENTER_ESP) X(GUEST_SYSENTER_EIP)                                   \
    /* natural-width host state (B.4.4) */                                        \
    X(HOST_CR0) X(HOST_CR3) X(HOST_CR4) X(HOST_FS_BASE) X(HOST_GS_BASE)           \
    X(HOST_TR_BASE) X(HOST_GDTR_BASE) X(HOST_IDTR_BASE) X(HOST_SYSENTER_ESP)      \
    X(HOST_SYSENTER_EIP) X(HOST_RSP) X(HOST_RIP)

/* V12_<name>: the field's slot in vmcs12_t.field. */
enum nvmx_field_index {
#define NVMX_INDEX_(name) V12_##name,
    NVMX_FIELDS(NVMX_INDEX_)
#undef NVMX_INDEX_
    NVMX_FIELD_COUNT
};

/* Launch state of a VMCS (SDM 24.1). */
#define VMCS12_CLEAR     0x434C5200u   /* "CLR" : VMCLEAR ran */
#define VMCS12_LAUNCHED  0x4C4E4300u   /* "LNC" : VMLAUNCH succeeded */

/* The VMCS region in L1's memory (layout ours, after the two words the SDM
 * fixes). */
typedef struct vmcs12 {
    uint32_t revision;          /* SDM 24.2: revision identifier, bit 31 shadow */
    uint32_t abort;             /* SDM 24.2, 27.7: VMX-abort indicator */
    uint32_t launch_state;      /* VMCS12_CLEAR / VMCS12_LAUNCHED; else neither */
    uint32_t reserved;
    uint64_t field[NVMX_FIELD_COUNT];
} vmcs12_t;

#define VMCS12_REGION_SIZE 4096u
_Static_assert(sizeof(vmcs12_t) <= VMCS12_REGION_SIZE, "vmcs12 fits its region");

/* The slot of field @encoding, or -1 if nested-vmx does not support it.
 * The encoding of a 64-bit field's high half (bit 0 set) maps to the
 * field's slot; *@high says so. Reserved encoding bits set: -1. */
int vmcs12_index(uint32_t encoding, bool *high);
/* Field @index's encoding (full access) */
uint32_t vmcs12_encoding(unsigned index);
/* The highest index (bits 9:1 of an encoding) of a supported field: what
 * IA32_VMX_VMCS_ENUM reports (SDM A.9). */
unsigned vmcs12_max_index(void);

/* VMREAD semantics on the stored value (SDM 30.3): a 16- or 32-bit field
 * zero-extended, a 64-bit field's high half shifted down. */
uint64_t vmcs12_read(const vmcs12_t *v, uint32_t encoding);
/* VMWRITE semantics: the value truncated to the field's width (a high-half
 * write replaces bits 63:32 only). The caller checked the field exists and
 * is writable. */
void vmcs12_write(vmcs12_t *v, uint32_t encoding, uint64_t value);

#endif
