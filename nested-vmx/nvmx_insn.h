/*
 * nested-vmx/nvmx_insn.h - what the VMX instruction code (instr.c) and its
 * operand decoding (operand.c) share; internal to nested-vmx.
 */
#ifndef NVMX_INSN_H
#define NVMX_INSN_H
#include "nvmx.h"

/* SDM Vol. 2C VMXON, VMCLEAR, VMPTRLD: the pointer must be 4-KByte aligned. */
#define NVMX_REGION_ALIGN  4096u
/* General-purpose registers as numbered in the instruction-information
 * field (SDM 27.2.5: 0 RAX ... 15 R15). */
#define NVMX_GPR_COUNT     16

/* One VMX instruction being executed. */
typedef struct {
    nvmx_vcpu_t *v;
    const nvmx_env_t *env;
    nestor_vcpu_state_t *s;
    const nvmx_insn_t *insn;
    nvmx_result_t r;
} nvmx_ctx_t;

/* 64-bit mode: IA32_EFER.LMA = 1 and CS.L = 1 (SDM Vol. 3A 5.2.1). */
bool nvmx_long_mode(const nestor_vcpu_state_t *s);
/* CPL: SS.DPL (SDM Vol. 3A 5.5; the VMCS's SS access rights, 24.4.1). */
unsigned nvmx_cpl(const nestor_vcpu_state_t *s);
/* Register @n (SDM 27.2.5 numbering); @n < NVMX_GPR_COUNT. */
nestor_word_t *nvmx_gpr(nestor_vcpu_state_t *s, unsigned n);
/* The operand size of VMREAD/VMWRITE/INVEPT/INVVPID register operands in
 * bytes: 8 in 64-bit mode, 4 outside it (SDM Vol. 2C VMREAD, VMWRITE,
 * INVEPT, INVVPID). */
unsigned nvmx_operand_size(const nestor_vcpu_state_t *s);
/* Register @n read at that operand size. */
uint64_t nvmx_reg_operand(nestor_vcpu_state_t *s, unsigned n);
/* c->r becomes an exception for L1 (NVMX_FAULT). */
void nvmx_set_fault(nvmx_result_t *r, uint8_t vector, bool has_error, uint32_t error);
/* Read / write @n bytes of the instruction's memory operand (described by
 * the instruction-information field and the exit qualification, SDM
 * 27.2.1, 27.2.5). false: c->r holds the exception (#UD for an undefined
 * encoding, #GP(0), #SS(0), #PF); nothing was written. */
bool nvmx_mem_read(nvmx_ctx_t *c, void *buf, size_t n);
bool nvmx_mem_write(nvmx_ctx_t *c, const void *buf, size_t n);

#endif
