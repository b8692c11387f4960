/*
 * tests/unit/test_x86_decode.c - the VMM's MMIO instruction decoder and
 * emulator (vmm-server/decode). Instruction bytes are copied into heap
 * buffers of exactly `avail` bytes, so under ASan any read past the end
 * fails the run.
 */
#include "unit.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define M16 X86_MODE_16
#define M32 X86_MODE_32
#define M64 X86_MODE_64

/* A byte string literal and its length, as two arguments. */
#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

#define MMIO_GPA 0xFEE00010ull

/* Decode `n` bytes from a heap copy of exactly n bytes (NULL for n = 0). */
static x86_decode_status_t dec(x86_mode_t mode, const uint8_t *bytes, size_t n, x86_insn_t *out)
{
    uint8_t *buf = NULL;
    if (n) {
        buf = malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        memcpy(buf, bytes, n);
    }
    x86_decode_status_t st = x86_decode(buf, n, mode, out);
    free(buf);
    return st;
}

/* Decode, expect OK and a length equal to the bytes given. */
static x86_insn_t ok(x86_mode_t mode, const uint8_t *bytes, size_t n)
{
    x86_insn_t i;
    x86_decode_status_t st = dec(mode, bytes, n, &i);
    CU_ASSERT_EQUAL_FATAL(st, X86_DECODE_OK);
    CU_ASSERT_EQUAL(i.length, n);
    return i;
}

static x86_decode_status_t status(x86_mode_t mode, const uint8_t *bytes, size_t n)
{
    x86_insn_t i;
    return dec(mode, bytes, n, &i);
}

/* ---- decoding: MOV ---------------------------------------------------- */

static void test_mov_load_rdi(void)
{
    x86_insn_t i = ok(M64, B(0x8b, 0x07));   /* mov eax, [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    CU_ASSERT_FALSE(i.reg_high_byte);
    CU_ASSERT_FALSE(i.has_imm);
    CU_ASSERT_EQUAL(i.addr_size, 8);
    CU_ASSERT_EQUAL(i.seg_override, -1);
    i = ok(M32, B(0x8b, 0x07));
    CU_ASSERT_EQUAL(i.addr_size, 4);
    CU_ASSERT_EQUAL(i.mem_size, 4);
}

static void test_mov_store_disp8(void)
{
    x86_insn_t i = ok(M64, B(0x89, 0x47, 0x10));   /* mov [rdi+0x10], eax */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    i = ok(M64, B(0x89, 0x10));                    /* writel: mov [rax], edx */
    CU_ASSERT_EQUAL(i.reg, X86_RDX);
    i = ok(M64, B(0x89, 0x83, 0x94, 0x00, 0x00, 0x00));   /* mov [rbx+0x94], eax */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    i = ok(M64, B(0x8b, 0x87, 0xb0, 0x00, 0x00, 0x00));   /* readl: mov eax, [rdi+0xb0] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
}

static void test_mov_store_imm32(void)
{
    /* movl $0x12345678, 0x100(%rdi) */
    x86_insn_t i = ok(M64, B(0xc7, 0x87, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12));
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE_IMM);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg, -1);
    CU_ASSERT_TRUE(i.has_imm);
    CU_ASSERT_EQUAL(i.imm, 0x12345678);
    i = ok(M32, B(0xc7, 0x87, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12));
    CU_ASSERT_EQUAL(i.imm, 0x12345678);
    i = ok(M64, B(0xc7, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00));   /* movl $0, 4(%rax) */
    CU_ASSERT_EQUAL(i.imm, 0);
}

static void test_mov_store_imm_sizes(void)
{
    x86_insn_t i = ok(M64, B(0xc6, 0x07, 0xab));   /* movb $0xab, (%rdi) */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE_IMM);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_EQUAL(i.imm, 0xab);
    i = ok(M64, B(0x66, 0xc7, 0x07, 0x34, 0x12));  /* movw $0x1234, (%rdi) */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.imm, 0x1234);
    i = ok(M64, B(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff));   /* movq $-1, (%rdi) */
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.imm, UINT64_MAX);
    i = ok(M64, B(0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80));
    CU_ASSERT_EQUAL(i.imm, 0xffffffff80000000ull);
    i = ok(M16, B(0xc7, 0x07, 0x34, 0x12));         /* 16-bit mode: imm16 */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.imm, 0x1234);
    i = ok(M16, B(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12));
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.imm, 0x12345678);
}

static void test_rip_relative(void)
{
    x86_insn_t i = ok(M64, B(0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12));   /* mov rax, [rip+d] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    /* REX.B does not change mod 00 rm 101 (SDM Vol. 2A 2.2.1.2). */
    i = ok(M64, B(0x41, 0x8b, 0x05, 0x00, 0x00, 0x00, 0x00));
    CU_ASSERT_EQUAL(i.mem_size, 4);
    /* 32-bit mode: the same ModRM is an absolute disp32. */
    i = ok(M32, B(0x8b, 0x05, 0x00, 0x10, 0x00, 0x00));
    CU_ASSERT_EQUAL(i.mem_size, 4);
    /* 67 in 64-bit mode: EIP-relative, still disp32. */
    i = ok(M64, B(0x67, 0x8b, 0x05, 0x00, 0x00, 0x00, 0x00));
    CU_ASSERT_EQUAL(i.addr_size, 4);
}

/* The memory operand's address (x86_decode_ea): each form of SDM Vol. 2A
 * Tables 2-1, 2-2 and 2-3 against registers with distinct values. */
static uint64_t ea_of(x86_mode_t mode, const uint8_t *bytes, size_t n, uint64_t next_rip,
                      int *seg)
{
    static const uint64_t gpr[16] = {
        0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000, 0x8000,   /* rax..rdi */
        0x90000, 0xA0000, 0xB0000, 0xC0000, 0xD0000, 0xE0000, 0xF0000,    /* r8..r14 */
        0xFFFFFFFFFFFFFFF0ull,                                            /* r15 */
    };
    x86_insn_t i = ok(mode, bytes, n);
    uint64_t ea = 0;
    CU_ASSERT_TRUE(x86_decode_ea(&i, gpr, next_rip, &ea));
    *seg = i.ea_seg;
    return ea;
}

static void test_effective_address(void)
{
    int seg;
    /* mov eax, [rdi] */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x8b, 0x07), 0, &seg), 0x8000);
    CU_ASSERT_EQUAL(seg, X86_SEG_DS);
    /* mov [rbp-8], rax: SS by default (SDM Vol. 1 Table 3-5) */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x48, 0x89, 0x45, 0xf8), 0, &seg), 0x5FF8);
    CU_ASSERT_EQUAL(seg, X86_SEG_SS);
    /* mov rax, [rip+0x100]: from the next instruction */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00), 0x401007, &seg),
                    0x401107);
    /* 67: EIP-relative, cut to 32 bits */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 0x1FFFFFFF8ull,
                          &seg), 0x8);
    /* [rbx + rsi*4 + 0x10] (SIB, disp8) */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x8b, 0x44, 0xb3, 0x10), 0, &seg), 0x4000 + 0x7000 * 4 + 0x10);
    CU_ASSERT_EQUAL(seg, X86_SEG_DS);
    /* [rsp + 8]: SS */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x8b, 0x44, 0x24, 0x08), 0, &seg), 0x5008);
    CU_ASSERT_EQUAL(seg, X86_SEG_SS);
    /* REX.X: index r12 (SIB index 100 with REX.X is a register) */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x42, 0x8b, 0x04, 0x20), 0, &seg), 0x1000 + 0xD0000);
    /* REX.B: base r13 with mod 01 (not rBP: DS), base r12 through SIB */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x41, 0x8b, 0x45, 0x04), 0, &seg), 0xE0004);
    CU_ASSERT_EQUAL(seg, X86_SEG_DS);
    CU_ASSERT_EQUAL(ea_of(M64, B(0x41, 0x8b, 0x04, 0x24), 0, &seg), 0xD0000);
    /* SIB without base: [rcx*8 + disp32] */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x8b, 0x04, 0xcd, 0x00, 0x10, 0x00, 0x00), 0, &seg),
                    0x2000 * 8 + 0x1000);
    /* disp32 sign-extended and the 64-bit wrap: [r15 + 0x20] */
    CU_ASSERT_EQUAL(ea_of(M64, B(0x41, 0x8b, 0x87, 0x20, 0x00, 0x00, 0x00), 0, &seg), 0x10);
    /* 32-bit mode: absolute disp32, and a 4 GiB wrap */
    CU_ASSERT_EQUAL(ea_of(M32, B(0x8b, 0x05, 0x00, 0x10, 0x00, 0x00), 0, &seg), 0x1000);
    CU_ASSERT_EQUAL(ea_of(M32, B(0x8b, 0x80, 0x00, 0x00, 0x00, 0xf0), 0, &seg),
                    (0x1000 + 0xF0000000ull) & 0xFFFFFFFF);
    /* 16-bit forms: [bp+si+2] (SS), [bx+di], [disp16], a 64 KiB wrap */
    CU_ASSERT_EQUAL(ea_of(M16, B(0x8b, 0x42, 0x02), 0, &seg), 0x6000 + 0x7000 + 2);
    CU_ASSERT_EQUAL(seg, X86_SEG_SS);
    CU_ASSERT_EQUAL(ea_of(M16, B(0x8b, 0x01), 0, &seg), 0x4000 + 0x8000);
    CU_ASSERT_EQUAL(seg, X86_SEG_DS);
    CU_ASSERT_EQUAL(ea_of(M16, B(0x8b, 0x06, 0x34, 0x12), 0, &seg), 0x1234);
    CU_ASSERT_EQUAL(ea_of(M16, B(0x8b, 0x87, 0x00, 0xf0), 0, &seg), (0x4000 + 0xF000) & 0xFFFF);
    /* moffs: the offset, of the address size; a segment override */
    CU_ASSERT_EQUAL(ea_of(M64, B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 0, &seg),
                    0x1122334455667788ull);
    CU_ASSERT_EQUAL(ea_of(M32, B(0x64, 0xa3, 0x10, 0x00, 0x00, 0x00), 0, &seg), 0x10);
    CU_ASSERT_EQUAL(seg, X86_SEG_FS);
    CU_ASSERT_EQUAL(ea_of(M32, B(0x26, 0x8b, 0x45, 0x00), 0, &seg), 0x6000);
    CU_ASSERT_EQUAL(seg, X86_SEG_ES);
    /* No ModRM memory operand: string instructions; bad arguments */
    x86_insn_t i = ok(M64, B(0xa4));
    uint64_t ea = 7;
    static const uint64_t zero[16];
    CU_ASSERT_FALSE(i.has_ea);
    CU_ASSERT_FALSE(x86_decode_ea(&i, zero, 0, &ea));
    CU_ASSERT_EQUAL(ea, 7);
    CU_ASSERT_FALSE(x86_decode_ea(NULL, zero, 0, &ea));
    i = ok(M64, B(0x8b, 0x07));
    CU_ASSERT_FALSE(x86_decode_ea(&i, NULL, 0, &ea));
    i.ea_base = 99;                  /* hostile fields: no register outside the array */
    i.ea_index = 16;
    CU_ASSERT_TRUE(x86_decode_ea(&i, zero, 0, &ea));
    CU_ASSERT_EQUAL(ea, 0);
}

static void test_opsize_prefix(void)
{
    x86_insn_t i = ok(M64, B(0x66, 0x89, 0x06));   /* mov [rsi], ax */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.reg_size, 2);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    i = ok(M64, B(0x66, 0x44, 0x89, 0x40, 0x02));  /* mov [rax+2], r8w */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.reg, X86_R8);
    i = ok(M64, B(0x66, 0x48, 0x89, 0x07));        /* REX.W wins over 66 */
    CU_ASSERT_EQUAL(i.mem_size, 8);
}

static void test_high_byte_regs(void)
{
    x86_insn_t i = ok(M32, B(0x88, 0x26));   /* mov [esi], ah */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    CU_ASSERT_TRUE(i.reg_high_byte);
    i = ok(M64, B(0x88, 0x26));
    CU_ASSERT_TRUE(i.reg_high_byte);
    i = ok(M64, B(0x8a, 0x3f));              /* mov bh, [rdi] */
    CU_ASSERT_EQUAL(i.reg, X86_RBX);
    CU_ASSERT_TRUE(i.reg_high_byte);
    i = ok(M64, B(0x8a, 0x2f));              /* mov ch, [rdi] */
    CU_ASSERT_EQUAL(i.reg, X86_RCX);
    CU_ASSERT_TRUE(i.reg_high_byte);
}

static void test_rex_byte_regs(void)
{
    x86_insn_t i = ok(M64, B(0x40, 0x88, 0x26));   /* mov [rsi], spl */
    CU_ASSERT_EQUAL(i.reg, X86_RSP);
    CU_ASSERT_FALSE(i.reg_high_byte);
    i = ok(M64, B(0x40, 0x8a, 0x3f));              /* mov dil, [rdi] */
    CU_ASSERT_EQUAL(i.reg, X86_RDI);
    CU_ASSERT_FALSE(i.reg_high_byte);
    i = ok(M64, B(0x44, 0x88, 0x07));              /* mov [rdi], r8b */
    CU_ASSERT_EQUAL(i.reg, X86_R8);
    CU_ASSERT_FALSE(i.reg_high_byte);
    i = ok(M64, B(0x88, 0x50, 0x04));              /* writeb: mov [rax+4], dl */
    CU_ASSERT_EQUAL(i.reg, X86_RDX);
    CU_ASSERT_EQUAL(i.mem_size, 1);
}

static void test_rex_r_regs(void)
{
    x86_insn_t i = ok(M64, B(0x44, 0x89, 0x40, 0x04));   /* mov [rax+4], r8d */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.reg, X86_R8);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    i = ok(M64, B(0x4c, 0x89, 0x3f));                    /* mov [rdi], r15 */
    CU_ASSERT_EQUAL(i.reg, X86_R15);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    i = ok(M64, B(0x45, 0x8b, 0x4d, 0x08));              /* mov r9d, [r13+8] */
    CU_ASSERT_EQUAL(i.reg, X86_R9);
}

static void test_sib_forms(void)
{
    x86_insn_t i = ok(M64, B(0x8b, 0x04, 0x24));         /* mov eax, [rsp] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
    ok(M64, B(0x8b, 0x44, 0x24, 0x08));                  /* [rsp+8] */
    ok(M64, B(0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00)); /* [disp32], no base */
    ok(M64, B(0x8b, 0x84, 0xc8, 0x00, 0x01, 0x00, 0x00)); /* [rax+rcx*8+0x100] */
    ok(M64, B(0x8b, 0x44, 0x05, 0x08));                  /* [rbp+rax+8]: base 5 with mod 01 */
    ok(M64, B(0x41, 0x8b, 0x04, 0x24));                  /* [r12]: rm 100 + REX.B still SIB */
    ok(M64, B(0x41, 0x8b, 0x44, 0x24, 0x10));            /* readl: mov eax, [r12+0x10] */
    ok(M64, B(0x41, 0x8b, 0x45, 0x00));                  /* [r13+0] */
    ok(M64, B(0x42, 0x8b, 0x04, 0x20));                  /* [rax+r12] (REX.X) */
    ok(M64, B(0x43, 0x8b, 0x04, 0x2d, 0x00, 0x00, 0x00, 0x00)); /* [r13*1+disp32]: no base */
    ok(M32, B(0x8b, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00)); /* [esp+0x100] */
}

static void test_moffs(void)
{
    x86_insn_t i = ok(M32, B(0xa1, 0x00, 0x00, 0xe0, 0xfe));   /* mov eax, [0xfee00000] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    CU_ASSERT_EQUAL(i.reg_size, 4);
    i = ok(M64, B(0xa1, 0x00, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00));   /* 8-byte moffs */
    CU_ASSERT_EQUAL(i.mem_size, 4);
    i = ok(M64, B(0x67, 0xa1, 0x00, 0x00, 0xe0, 0xfe));        /* 67: 4-byte moffs */
    CU_ASSERT_EQUAL(i.addr_size, 4);
    i = ok(M64, B(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8));         /* mov [moffs64], rax */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    i = ok(M32, B(0xa2, 0x00, 0x10, 0x00, 0x00));             /* mov [moffs], al */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_STORE);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_FALSE(i.reg_high_byte);
    i = ok(M16, B(0xa0, 0x34, 0x12));                         /* 16-bit: 2-byte moffs */
    CU_ASSERT_EQUAL(i.mem_size, 1);
    i = ok(M32, B(0x67, 0xa1, 0x34, 0x12));
    CU_ASSERT_EQUAL(i.addr_size, 2);
    CU_ASSERT_EQUAL(status(M64, B(0xa1, 0x00, 0x00, 0xe0, 0xfe)), X86_DECODE_TRUNCATED);
}

static void test_movzx_movsx(void)
{
    x86_insn_t i = ok(M64, B(0x0f, 0xb6, 0x07));          /* movzx eax, byte [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOVZX);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_EQUAL(i.reg_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    CU_ASSERT_FALSE(i.reg_high_byte);
    i = ok(M64, B(0x48, 0x0f, 0xb7, 0x47, 0x02));         /* movzx rax, word [rdi+2] */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.reg_size, 8);
    i = ok(M64, B(0x0f, 0xbe, 0x4a, 0x01));               /* movsx ecx, byte [rdx+1] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOVSX);
    CU_ASSERT_EQUAL(i.reg, X86_RCX);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    i = ok(M64, B(0x66, 0x0f, 0xbe, 0x07));               /* movsx ax, byte [rdi] */
    CU_ASSERT_EQUAL(i.reg_size, 2);
    i = ok(M64, B(0x44, 0x0f, 0xbf, 0x27));               /* movsx r12d, word [rdi] */
    CU_ASSERT_EQUAL(i.reg, X86_R12);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.reg_size, 4);
    i = ok(M16, B(0x0f, 0xb6, 0x04));                     /* movzx ax, byte [si] */
    CU_ASSERT_EQUAL(i.reg_size, 2);
}

static void test_movsxd(void)
{
    x86_insn_t i = ok(M64, B(0x48, 0x63, 0x47, 0x08));    /* movsxd rax, dword [rdi+8] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOVSX);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg_size, 8);
    CU_ASSERT_EQUAL(status(M32, B(0x63, 0x07)), X86_DECODE_UNSUPPORTED);   /* ARPL */
}

static void test_string_ops(void)
{
    x86_insn_t i = ok(M64, B(0xf3, 0xab));                /* rep stosd */
    CU_ASSERT_EQUAL(i.op, X86_OP_STOS);
    CU_ASSERT_TRUE(i.rep);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.addr_size, 8);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    i = ok(M64, B(0xf3, 0x48, 0xab));                     /* rep stosq */
    CU_ASSERT_EQUAL(i.mem_size, 8);
    i = ok(M64, B(0xaa));                                 /* stosb */
    CU_ASSERT_FALSE(i.rep);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    i = ok(M64, B(0x66, 0xab));                           /* stosw */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    i = ok(M64, B(0xf3, 0xa4));                           /* rep movsb */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOVS);
    CU_ASSERT_TRUE(i.rep);
    CU_ASSERT_EQUAL(i.reg, -1);
    i = ok(M32, B(0xa5));                                 /* movsd */
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.addr_size, 4);
    i = ok(M64, B(0x67, 0xf3, 0xab));
    CU_ASSERT_EQUAL(i.addr_size, 4);
    i = ok(M16, B(0xf3, 0xab));                           /* rep stosw, 16-bit */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.addr_size, 2);
    i = ok(M32, B(0x64, 0xa5));                           /* movs with fs: source */
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_FS);
}

static void test_16bit_addressing(void)
{
    x86_insn_t i = ok(M16, B(0x8b, 0x04));                /* mov ax, [si] */
    CU_ASSERT_EQUAL(i.op, X86_OP_MOV_LOAD);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.addr_size, 2);
    ok(M16, B(0x8b, 0x06, 0x34, 0x12));                   /* mov ax, [0x1234] */
    ok(M16, B(0x89, 0x47, 0x10));                         /* mov [bx+0x10], ax */
    ok(M16, B(0x8b, 0x87, 0x00, 0x10));                   /* mov ax, [bx+0x1000] */
    ok(M16, B(0x8b, 0x46, 0x00));                         /* mov ax, [bp+0] */
    i = ok(M16, B(0x66, 0x8b, 0x04));                     /* mov eax, [si] */
    CU_ASSERT_EQUAL(i.mem_size, 4);
    i = ok(M16, B(0x26, 0x8b, 0x04));                     /* mov ax, es:[si] */
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_ES);
}

static void test_addrsize_override(void)
{
    x86_insn_t i = ok(M16, B(0x67, 0x8b, 0x04, 0x24));    /* 32-bit addressing: SIB */
    CU_ASSERT_EQUAL(i.addr_size, 4);
    ok(M16, B(0x67, 0x8b, 0x05, 0x00, 0x00, 0x01, 0x00)); /* disp32, not rm 110 */
    i = ok(M32, B(0x67, 0x8b, 0x07));                     /* mov eax, [bx] */
    CU_ASSERT_EQUAL(i.addr_size, 2);
    ok(M32, B(0x67, 0x8b, 0x06, 0x34, 0x12));             /* mov eax, [0x1234] */
    ok(M32, B(0x67, 0x8b, 0x04));                         /* [si]: no SIB in 16-bit forms */
    i = ok(M64, B(0x67, 0x8b, 0x07));                     /* mov eax, [edi] */
    CU_ASSERT_EQUAL(i.addr_size, 4);
}

static void test_segment_overrides(void)
{
    x86_insn_t i = ok(M64, B(0x64, 0x8b, 0x07));
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_FS);
    i = ok(M64, B(0x65, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00));   /* mov rax, gs:[0x10] */
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_GS);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    i = ok(M32, B(0x26, 0x89, 0x07));
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_ES);
    i = ok(M32, B(0x2e, 0x89, 0x07));
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_CS);
    i = ok(M32, B(0x36, 0x89, 0x07));
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_SS);
    i = ok(M32, B(0x3e, 0x89, 0x07));
    CU_ASSERT_EQUAL(i.seg_override, X86_SEG_DS);
    i = ok(M64, B(0x2e, 0x89, 0x07));   /* ignored in 64-bit mode */
    CU_ASSERT_EQUAL(i.seg_override, -1);
}

static void test_rex_placement(void)
{
    x86_insn_t i = ok(M64, B(0x48, 0x66, 0x89, 0x07));   /* REX before 66 is ignored */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    i = ok(M64, B(0x4c, 0x40, 0x89, 0x07));              /* the last REX counts */
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    i = ok(M64, B(0x44, 0x66, 0x88, 0x27));              /* REX dropped: ah again */
    CU_ASSERT_TRUE(i.reg_high_byte);
    CU_ASSERT_EQUAL(status(M32, B(0x48, 0x8b, 0x07)), X86_DECODE_UNSUPPORTED);   /* dec eax */
}

static void test_rep_only_on_strings(void)
{
    x86_insn_t i = ok(M64, B(0xf3, 0x89, 0x07));   /* rep is ignored (xrelease) on mov */
    CU_ASSERT_FALSE(i.rep);
    i = ok(M64, B(0xf2, 0xab));                    /* repne stos behaves as rep */
    CU_ASSERT_TRUE(i.rep);
}

/* ---- decoding: read-modify-write ---------------------------------------- */

static void test_alu_reg_forms(void)
{
    static const struct { uint8_t opcode; x86_op_t op; unsigned size; bool reg_dest; } t[] = {
        { 0x00, X86_OP_ADD, 1, false }, { 0x01, X86_OP_ADD, 4, false },
        { 0x02, X86_OP_ADD, 1, true },  { 0x03, X86_OP_ADD, 4, true },
        { 0x08, X86_OP_OR, 1, false },  { 0x09, X86_OP_OR, 4, false },
        { 0x0a, X86_OP_OR, 1, true },   { 0x0b, X86_OP_OR, 4, true },
        { 0x20, X86_OP_AND, 1, false }, { 0x21, X86_OP_AND, 4, false },
        { 0x22, X86_OP_AND, 1, true },  { 0x23, X86_OP_AND, 4, true },
        { 0x28, X86_OP_SUB, 1, false }, { 0x29, X86_OP_SUB, 4, false },
        { 0x2a, X86_OP_SUB, 1, true },  { 0x2b, X86_OP_SUB, 4, true },
        { 0x30, X86_OP_XOR, 1, false }, { 0x31, X86_OP_XOR, 4, false },
        { 0x32, X86_OP_XOR, 1, true },  { 0x33, X86_OP_XOR, 4, true },
        { 0x38, X86_OP_CMP, 1, false }, { 0x39, X86_OP_CMP, 4, false },
        { 0x3a, X86_OP_CMP, 1, true },  { 0x3b, X86_OP_CMP, 4, true },
        { 0x84, X86_OP_TEST, 1, false }, { 0x85, X86_OP_TEST, 4, false },
    };
    for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
        x86_insn_t i = ok(M64, B(t[k].opcode, 0x4f, 0x08));   /* op [rdi+8], cl / ecx */
        CU_ASSERT_EQUAL(i.op, t[k].op);
        CU_ASSERT_EQUAL(i.mem_size, t[k].size);
        CU_ASSERT_EQUAL(i.reg_size, t[k].size);
        CU_ASSERT_EQUAL(i.reg, X86_RCX);
        CU_ASSERT_EQUAL(i.reg_dest, t[k].reg_dest);
        CU_ASSERT_FALSE(i.has_imm);
    }
}

static void test_alu_imm_forms(void)
{
    x86_insn_t i = ok(M64, B(0x81, 0x0f, 0x00, 0x00, 0x00, 0x80));   /* orl $0x80000000, (%rdi) */
    CU_ASSERT_EQUAL(i.op, X86_OP_OR);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.imm, 0x80000000);
    CU_ASSERT_EQUAL(i.reg, -1);
    i = ok(M64, B(0x83, 0x27, 0xfe));                  /* andl $-2, (%rdi) */
    CU_ASSERT_EQUAL(i.op, X86_OP_AND);
    CU_ASSERT_EQUAL(i.imm, 0xfffffffe);
    i = ok(M64, B(0x48, 0x83, 0x27, 0xfe));            /* andq $-2, (%rdi) */
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.imm, 0xfffffffffffffffeull);
    i = ok(M64, B(0x48, 0x81, 0x07, 0x00, 0x00, 0x00, 0x80));   /* addq $imm32 sign-extended */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADD);
    CU_ASSERT_EQUAL(i.imm, 0xffffffff80000000ull);
    i = ok(M64, B(0x80, 0x0f, 0x01));                  /* orb $1, (%rdi) */
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_EQUAL(i.imm, 1);
    i = ok(M64, B(0x66, 0x81, 0x07, 0x34, 0x12));      /* addw $0x1234 */
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.imm, 0x1234);
    i = ok(M64, B(0x66, 0x83, 0x07, 0x80));            /* addw $-128 */
    CU_ASSERT_EQUAL(i.imm, 0xff80);
    i = ok(M64, B(0x83, 0x2f, 0x01));
    CU_ASSERT_EQUAL(i.op, X86_OP_SUB);
    i = ok(M64, B(0x83, 0x37, 0x01));
    CU_ASSERT_EQUAL(i.op, X86_OP_XOR);
    i = ok(M64, B(0x83, 0x3f, 0x00));
    CU_ASSERT_EQUAL(i.op, X86_OP_CMP);
    i = ok(M64, B(0x81, 0xa7, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00));   /* disp32 + imm32 */
    CU_ASSERT_EQUAL(i.op, X86_OP_AND);
    CU_ASSERT_EQUAL(i.imm, 0xffff);
}

static void test_lock_prefix(void)
{
    x86_insn_t i = ok(M64, B(0xf0, 0x09, 0x07));       /* lock or [rdi], eax */
    CU_ASSERT_EQUAL(i.op, X86_OP_OR);
    ok(M64, B(0xf0, 0x83, 0x0f, 0x01));
    ok(M64, B(0xf0, 0x80, 0x27, 0xfe));
    ok(M64, B(0xf0, 0x48, 0x29, 0x07));
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x8b, 0x07)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x89, 0x07)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0xc7, 0x07, 0, 0, 0, 0)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x39, 0x07)), X86_DECODE_INVALID);   /* cmp */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x83, 0x3f, 0x00)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x85, 0x07)), X86_DECODE_INVALID);   /* test */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x0b, 0x07)), X86_DECODE_INVALID);   /* reg dest */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0xab)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x0f, 0xb6, 0x07)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x01, 0xc0)), X86_DECODE_INVALID);   /* register form */
    /* ADC SBB INC DEC NOT NEG with a memory destination may be locked (SDM
     * Vol. 2A 3.2 "LOCK"); the register-destination forms may not. */
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0x11, 0x07)).op, X86_OP_ADC);
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0x80, 0x1f, 0x01)).op, X86_OP_SBB);
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0xfe, 0x07)).op, X86_OP_INC);
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0x48, 0xff, 0x0f)).op, X86_OP_DEC);
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0xf6, 0x17)).op, X86_OP_NOT);
    CU_ASSERT_EQUAL(ok(M64, B(0xf0, 0xf7, 0x1f)).op, X86_OP_NEG);
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x13, 0x07)), X86_DECODE_INVALID);   /* adc r, m */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0x1a, 0x07)), X86_DECODE_INVALID);   /* sbb r, m */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0xff, 0xc0)), X86_DECODE_INVALID);   /* inc eax */
    CU_ASSERT_EQUAL(status(M64, B(0xf0, 0xf7, 0x07, 0, 0, 0, 0)), X86_DECODE_INVALID); /* test */
}

/* ADC 10-13 and SBB 18-1B in every ModRM form, and 80/81/83 /2 /3. */
static void test_adc_sbb_forms(void)
{
    x86_insn_t i = ok(M64, B(0x10, 0x27));                 /* adc [rdi], ah */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_EQUAL(i.reg, X86_RAX);
    CU_ASSERT_TRUE(i.reg_high_byte);
    CU_ASSERT_FALSE(i.reg_dest);
    i = ok(M64, B(0x4c, 0x11, 0x47, 0x08));                /* adc [rdi+8], r8 */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.reg, X86_R8);
    CU_ASSERT_EQUAL(i.reg_size, 8);
    i = ok(M64, B(0x12, 0x0f));                            /* adc cl, [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_TRUE(i.reg_dest);
    CU_ASSERT_EQUAL(i.reg, X86_RCX);
    i = ok(M64, B(0x66, 0x13, 0x17));                      /* adc dx, [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_TRUE(i.reg_dest);
    i = ok(M64, B(0x18, 0x07));                            /* sbb [rdi], al */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_FALSE(i.reg_dest);
    i = ok(M32, B(0x19, 0x1e));                            /* sbb [esi], ebx */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(i.reg, X86_RBX);
    i = ok(M64, B(0x1a, 0x3f));                            /* sbb bh, [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_TRUE(i.reg_high_byte);
    CU_ASSERT_TRUE(i.reg_dest);
    i = ok(M16, B(0x1b, 0x04));                            /* sbb ax, [si] */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_TRUE(i.reg_dest);

    i = ok(M64, B(0x80, 0x17, 0xff));                      /* adc byte [rdi], 0xff */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_TRUE(i.has_imm);
    CU_ASSERT_EQUAL(i.imm, 0xff);
    CU_ASSERT_EQUAL(i.reg, -1);
    i = ok(M64, B(0x48, 0x81, 0x17, 0x00, 0x00, 0x00, 0x80));   /* adc qword [rdi], imm32 */
    CU_ASSERT_EQUAL(i.op, X86_OP_ADC);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.imm, 0xFFFFFFFF80000000ull);
    i = ok(M64, B(0x66, 0x83, 0x1f, 0xfe));                /* sbb word [rdi], -2 */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_EQUAL(i.mem_size, 2);
    CU_ASSERT_EQUAL(i.imm, 0xfffe);
    i = ok(M64, B(0x81, 0x1f, 0x01, 0x00, 0x00, 0x00));    /* sbb dword [rdi], 1 */
    CU_ASSERT_EQUAL(i.op, X86_OP_SBB);
    CU_ASSERT_EQUAL(i.imm, 1);
}

/* INC DEC (FE/FF /0 /1) and NOT NEG (F6/F7 /2 /3): memory only, no immediate. */
static void test_inc_dec_not_neg(void)
{
    static const struct {
        x86_mode_t mode;
        uint8_t len, b[6];
        x86_op_t op;
        unsigned size;
    } cases[] = {
        { M64, 2, { 0xfe, 0x07 }, X86_OP_INC, 1 },             /* inc byte [rdi] */
        { M64, 2, { 0xfe, 0x0f }, X86_OP_DEC, 1 },             /* dec byte [rdi] */
        { M64, 3, { 0x66, 0xff, 0x07 }, X86_OP_INC, 2 },       /* inc word [rdi] */
        { M64, 2, { 0xff, 0x0f }, X86_OP_DEC, 4 },             /* dec dword [rdi] */
        { M64, 3, { 0x48, 0xff, 0x07 }, X86_OP_INC, 8 },       /* inc qword [rdi] */
        { M64, 4, { 0x49, 0xff, 0x48, 0x10 }, X86_OP_DEC, 8 }, /* dec qword [r8+0x10] */
        { M64, 2, { 0xf6, 0x17 }, X86_OP_NOT, 1 },             /* not byte [rdi] */
        { M64, 3, { 0x66, 0xf7, 0x17 }, X86_OP_NOT, 2 },       /* not word [rdi] */
        { M64, 2, { 0xf6, 0x1f }, X86_OP_NEG, 1 },             /* neg byte [rdi] */
        { M64, 2, { 0xf7, 0x1f }, X86_OP_NEG, 4 },             /* neg dword [rdi] */
        { M64, 3, { 0x48, 0xf7, 0x1f }, X86_OP_NEG, 8 },       /* neg qword [rdi] */
        { M64, 6, { 0xf7, 0x1d, 0, 0, 0, 0 }, X86_OP_NEG, 4 }, /* neg dword [rip] */
        { M32, 2, { 0xff, 0x06 }, X86_OP_INC, 4 },             /* inc dword [esi] */
        { M16, 2, { 0xff, 0x0c }, X86_OP_DEC, 2 },             /* dec word [si] */
        { M16, 3, { 0x66, 0xf7, 0x14 }, X86_OP_NOT, 4 },       /* not dword [si] */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        x86_insn_t i = ok(cases[k].mode, cases[k].b, cases[k].len);
        CU_ASSERT_EQUAL(i.op, cases[k].op);
        CU_ASSERT_EQUAL(i.mem_size, cases[k].size);
        CU_ASSERT_EQUAL(i.reg, -1);
        CU_ASSERT_FALSE(i.has_imm);
        CU_ASSERT_FALSE(i.reg_dest);
    }
    /* PUSH (FF /6) keeps its stack operand size now that FF /0 /1 decode too. */
    x86_insn_t i = ok(M64, B(0xff, 0x37));
    CU_ASSERT_EQUAL(i.op, X86_OP_PUSH);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    i = ok(M64, B(0x66, 0xff, 0x37));
    CU_ASSERT_EQUAL(i.mem_size, 2);
    i = ok(M32, B(0xff, 0x37));
    CU_ASSERT_EQUAL(i.mem_size, 4);
    i = ok(M64, B(0xff, 0x07));                                /* inc: 32 bits here */
    CU_ASSERT_EQUAL(i.mem_size, 4);
}

static void test_unsupported(void)
{
    CU_ASSERT_EQUAL(status(M64, B(0x90)), X86_DECODE_UNSUPPORTED);             /* nop */
    CU_ASSERT_EQUAL(status(M64, B(0x0f, 0x0b)), X86_DECODE_UNSUPPORTED);       /* ud2 */
    CU_ASSERT_EQUAL(status(M64, B(0x04, 0x01)), X86_DECODE_UNSUPPORTED);       /* add al, ib */
    CU_ASSERT_EQUAL(status(M64, B(0x14, 0x01)), X86_DECODE_UNSUPPORTED);       /* adc al, ib */
    CU_ASSERT_EQUAL(status(M64, B(0x1d, 1, 0, 0, 0)), X86_DECODE_UNSUPPORTED); /* sbb eax, id */
    CU_ASSERT_EQUAL(status(M64, B(0x48, 0x0f, 0xc7, 0x0f)), X86_DECODE_UNSUPPORTED); /* cmpxchg16b */
    CU_ASSERT_EQUAL(status(M64, B(0x0f, 0xc7, 0x37)), X86_DECODE_UNSUPPORTED);  /* vmptrld */
    CU_ASSERT_EQUAL(status(M64, B(0xf2, 0x0f, 0x38, 0xf1, 0x07)), X86_DECODE_UNSUPPORTED); /* crc32 */
    CU_ASSERT_EQUAL(status(M64, B(0x0f, 0xb8, 0x07)), X86_DECODE_UNSUPPORTED);  /* jmpe */
    CU_ASSERT_EQUAL(status(M64, B(0xff, 0x1f)), X86_DECODE_UNSUPPORTED);       /* call far */
    CU_ASSERT_EQUAL(status(M64, B(0xff, 0x2f)), X86_DECODE_UNSUPPORTED);       /* jmp far */
    CU_ASSERT_EQUAL(status(M64, B(0xff, 0x3f)), X86_DECODE_INVALID);           /* ff /7: #UD */
    CU_ASSERT_EQUAL(status(M64, B(0xd1, 0x37)), X86_DECODE_UNSUPPORTED);       /* grp2 /6 */
    CU_ASSERT_EQUAL(status(M64, B(0x0f, 0xba, 0x1f, 0x01)), X86_DECODE_INVALID); /* grp8 /3 */
    /* Group 4 (FE) with /2../7 is #UD (Table A-6). */
    CU_ASSERT_EQUAL(status(M64, B(0xfe, 0x17)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xfe, 0x3f)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xfe, 0xc0)), X86_DECODE_UNSUPPORTED);       /* inc al */
    CU_ASSERT_EQUAL(status(M64, B(0xf7, 0xd8)), X86_DECODE_UNSUPPORTED);       /* neg eax */
    CU_ASSERT_EQUAL(status(M64, B(0x8f, 0x4f, 0x00)), X86_DECODE_INVALID);     /* 8f /1 */
    CU_ASSERT_EQUAL(status(M64, B(0x8b, 0xc0)), X86_DECODE_UNSUPPORTED);       /* no memory */
    CU_ASSERT_EQUAL(status(M64, B(0xc7, 0xc0, 0, 0, 0, 0)), X86_DECODE_UNSUPPORTED);
    CU_ASSERT_EQUAL(status(M32, B(0x40)), X86_DECODE_UNSUPPORTED);             /* inc eax */
    CU_ASSERT_EQUAL(status(M64, B(0x0f, 0xb8, 0x07)), X86_DECODE_UNSUPPORTED);
    /* Group 11 with /1../7 on memory is #UD. */
    CU_ASSERT_EQUAL(status(M64, B(0xc7, 0x4f, 0x00, 0, 0, 0, 0)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(status(M64, B(0xc6, 0x3f, 0x00)), X86_DECODE_INVALID);
}

/* ---- hostile input ------------------------------------------------------- */

typedef struct {
    x86_mode_t mode;
    uint8_t len;
    uint8_t bytes[X86_MAX_INSN_LEN];
} sample_t;

static const sample_t samples[] = {
    { M64, 2, { 0x8b, 0x07 } },
    { M64, 3, { 0x89, 0x47, 0x10 } },
    { M64, 10, { 0xc7, 0x87, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12 } },
    { M64, 7, { 0x48, 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12 } },
    { M64, 3, { 0x66, 0x89, 0x06 } },
    { M32, 2, { 0x88, 0x26 } },
    { M64, 4, { 0x44, 0x89, 0x40, 0x04 } },
    { M64, 3, { 0x0f, 0xb6, 0x07 } },
    { M64, 5, { 0x48, 0x0f, 0xbf, 0x47, 0x02 } },
    { M64, 2, { 0xf3, 0xab } },
    { M64, 3, { 0xf3, 0x48, 0xab } },
    { M32, 5, { 0xa1, 0x00, 0x00, 0xe0, 0xfe } },
    { M64, 9, { 0xa1, 0x00, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00 } },
    { M64, 6, { 0x67, 0xa1, 0x00, 0x00, 0xe0, 0xfe } },
    { M16, 2, { 0x8b, 0x04 } },
    { M16, 4, { 0x8b, 0x06, 0x34, 0x12 } },
    { M16, 4, { 0x67, 0x8b, 0x04, 0x24 } },
    { M32, 5, { 0x67, 0x8b, 0x06, 0x34, 0x12 } },
    { M64, 7, { 0x8b, 0x84, 0xc8, 0x00, 0x01, 0x00, 0x00 } },
    { M64, 7, { 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00 } },
    { M64, 6, { 0x81, 0x0f, 0x00, 0x00, 0x00, 0x80 } },
    { M64, 4, { 0x48, 0x83, 0x27, 0xfe } },
    { M64, 4, { 0xf0, 0x66, 0x09, 0x07 } },
    { M64, 9, { 0x65, 0x48, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00 } },
    { M64, 4, { 0x48, 0x63, 0x47, 0x08 } },
    { M64, 10, { 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8 } },
    { M64, 15, { 0x2e, 0x2e, 0x2e, 0x2e, 0xc7, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56,
                 0x34, 0x12 } },
    { M64, 15, { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                 0x8b, 0x07 } },
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static void test_samples_decode_at_their_length(void)
{
    for (size_t k = 0; k < N_SAMPLES; k++) {
        x86_insn_t i;
        CU_ASSERT_EQUAL(dec(samples[k].mode, samples[k].bytes, samples[k].len, &i), X86_DECODE_OK);
        CU_ASSERT_EQUAL(i.length, samples[k].len);
        /* Trailing bytes do not change the decoded length. */
        uint8_t longer[X86_MAX_INSN_LEN + 8];
        memset(longer, 0x8b, sizeof(longer));
        memcpy(longer, samples[k].bytes, samples[k].len);
        CU_ASSERT_EQUAL(dec(samples[k].mode, longer, sizeof(longer), &i), X86_DECODE_OK);
        CU_ASSERT_EQUAL(i.length, samples[k].len);
    }
}

static void test_every_truncation(void)
{
    for (size_t k = 0; k < N_SAMPLES; k++) {
        for (size_t n = 0; n < samples[k].len; n++) {
            x86_insn_t i;
            x86_decode_status_t st = dec(samples[k].mode, samples[k].bytes, n, &i);
            CU_ASSERT_EQUAL(st, X86_DECODE_TRUNCATED);
            CU_ASSERT_EQUAL(i.op, X86_OP_NONE);
            CU_ASSERT_EQUAL(i.length, 0);
        }
    }
}

static void test_fifteen_byte_limit(void)
{
    uint8_t b[24];
    /* 14 prefixes + 8b 07 = 16 bytes. */
    memset(b, 0x66, sizeof(b));
    b[14] = 0x8b;
    b[15] = 0x07;
    CU_ASSERT_EQUAL(status(M64, b, 16), X86_DECODE_TOO_LONG);
    CU_ASSERT_EQUAL(status(M64, b, sizeof(b)), X86_DECODE_TOO_LONG);
    /* 15 prefixes: TOO_LONG, not TRUNCATED, even with exactly 15 bytes. */
    memset(b, 0x2e, sizeof(b));
    CU_ASSERT_EQUAL(status(M64, b, 15), X86_DECODE_TOO_LONG);
    CU_ASSERT_EQUAL(status(M32, b, 15), X86_DECODE_TOO_LONG);
    CU_ASSERT_EQUAL(status(M64, b, sizeof(b)), X86_DECODE_TOO_LONG);
    memset(b, 0xf3, sizeof(b));
    CU_ASSERT_EQUAL(status(M16, b, sizeof(b)), X86_DECODE_TOO_LONG);
    memset(b, 0x48, sizeof(b));   /* REX bytes count too */
    CU_ASSERT_EQUAL(status(M64, b, sizeof(b)), X86_DECODE_TOO_LONG);
    /* 5 prefixes + an 11-byte mov-immediate = 16. */
    static const uint8_t long_mov[] = { 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xc7, 0x84, 0x24, 0x00,
                                        0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12 };
    CU_ASSERT_EQUAL(status(M64, long_mov, sizeof(long_mov)), X86_DECODE_TOO_LONG);
    x86_insn_t i;
    CU_ASSERT_EQUAL(dec(M64, long_mov + 1, sizeof(long_mov) - 1, &i), X86_DECODE_OK);
    CU_ASSERT_EQUAL(i.length, 15);
}

static void test_bad_arguments(void)
{
    x86_insn_t i;
    static const uint8_t b[] = { 0x8b, 0x07 };
    CU_ASSERT_EQUAL(x86_decode(NULL, 0, M64, &i), X86_DECODE_TRUNCATED);
    CU_ASSERT_EQUAL(i.reg, -1);
    CU_ASSERT_EQUAL(i.seg_override, -1);
    CU_ASSERT_EQUAL(x86_decode(NULL, 4, M64, &i), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(x86_decode(b, sizeof(b), M64, NULL), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(x86_decode(b, sizeof(b), (x86_mode_t)7, &i), X86_DECODE_INVALID);
}

static void test_status_strings(void)
{
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str(X86_DECODE_OK), "ok");
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str(X86_DECODE_TRUNCATED), "truncated");
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str(X86_DECODE_UNSUPPORTED), "unsupported");
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str(X86_DECODE_INVALID), "invalid");
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str((x86_decode_status_t)99), "unknown");
    CU_ASSERT_STRING_EQUAL(x86_emu_status_str(X86_EMU_OK), "ok");
    CU_ASSERT_STRING_EQUAL(x86_emu_status_str(X86_EMU_UNSUPPORTED), "unsupported");
    CU_ASSERT_STRING_EQUAL(x86_emu_status_str(X86_EMU_DEVICE_ERROR), "device error");
}

/* ---- emulation ------------------------------------------------------------ */

typedef struct {
    uint64_t mem;          /* what reads return (upper bits may be junk) */
    unsigned reads, writes;
    uint64_t gpa;
    unsigned size;
    uint64_t written;
    bool fail_read, fail_write;
} fake_dev_t;

static bool dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    fake_dev_t *d = ctx;
    d->reads++;
    d->gpa = gpa;
    d->size = size;
    if (d->fail_read)
        return false;
    *value = d->mem;
    return true;
}

static bool dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    fake_dev_t *d = ctx;
    d->writes++;
    d->gpa = gpa;
    d->size = size;
    if (d->fail_write)
        return false;
    d->written = value;
    return true;
}

/* Decode and emulate at MMIO_GPA. */
static x86_emu_status_t emu(x86_mode_t mode, const uint8_t *bytes, size_t n, x86_regs_t *regs,
                            fake_dev_t *dev)
{
    x86_insn_t i = ok(mode, bytes, n);
    return x86_emulate_mmio(&i, regs, MMIO_GPA, dev_read, dev_write, dev);
}

#define RFLAGS_FIXED 0x2ull        /* bit 1 always reads 1 */
#define RFLAGS_IF    (1ull << 9)

static void test_emu_mov_load_widths(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = UINT64_MAX } };
    fake_dev_t d = { .mem = 0xdeadbeef12345678ull };
    CU_ASSERT_EQUAL(emu(M64, B(0x8b, 0x07), &r, &d), X86_EMU_OK);   /* 32-bit: zero-extends */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x12345678);
    CU_ASSERT_EQUAL(d.reads, 1);
    CU_ASSERT_EQUAL(d.writes, 0);
    CU_ASSERT_EQUAL(d.gpa, MMIO_GPA);
    CU_ASSERT_EQUAL(d.size, 4);

    r.gpr[X86_RAX] = 0x1111222233334444ull;
    d.mem = 0xabcd;
    CU_ASSERT_EQUAL(emu(M64, B(0x66, 0x8b, 0x07), &r, &d), X86_EMU_OK);   /* 16-bit: merges */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x111122223333abcdull);
    CU_ASSERT_EQUAL(d.size, 2);

    d.mem = 0x0123456789abcdefull;
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0x8b, 0x05, 0, 0, 0, 0), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x0123456789abcdefull);
    CU_ASSERT_EQUAL(d.size, 8);

    r.gpr[X86_R9] = UINT64_MAX;
    d.mem = 0xfffffff0;
    CU_ASSERT_EQUAL(emu(M64, B(0x45, 0x8b, 0x4d, 0x08), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_R9], 0xfffffff0);
}

static void test_emu_mov_load_bytes(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0x1111222233334444ull, [X86_RSP] = 0x7fff0000ull,
                              [X86_R8] = 0x8888888888888888ull } };
    fake_dev_t d = { .mem = 0xffffff5a };
    CU_ASSERT_EQUAL(emu(M64, B(0x8a, 0x27), &r, &d), X86_EMU_OK);         /* mov ah, [rdi] */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x1111222233335a44ull);
    CU_ASSERT_EQUAL(d.size, 1);
    CU_ASSERT_EQUAL(emu(M64, B(0x8a, 0x07), &r, &d), X86_EMU_OK);         /* mov al, [rdi] */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x1111222233335a5aull);
    CU_ASSERT_EQUAL(emu(M64, B(0x40, 0x8a, 0x27), &r, &d), X86_EMU_OK);   /* mov spl, [rdi] */
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0x7fff005aull);
    CU_ASSERT_EQUAL(emu(M64, B(0x44, 0x8a, 0x07), &r, &d), X86_EMU_OK);   /* mov r8b, [rdi] */
    CU_ASSERT_EQUAL(r.gpr[X86_R8], 0x888888888888885aull);
}

static void test_emu_mov_store(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0x1122334455667788ull,
                              [X86_R8] = 0xaaaabbbbccccddddull } };
    fake_dev_t d = { 0 };
    CU_ASSERT_EQUAL(emu(M64, B(0x89, 0x47, 0x10), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x55667788);
    CU_ASSERT_EQUAL(d.size, 4);
    CU_ASSERT_EQUAL(d.reads, 0);
    CU_ASSERT_EQUAL(emu(M64, B(0x88, 0x26), &r, &d), X86_EMU_OK);         /* ah */
    CU_ASSERT_EQUAL(d.written, 0x77);
    CU_ASSERT_EQUAL(d.size, 1);
    CU_ASSERT_EQUAL(emu(M64, B(0x66, 0x89, 0x06), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x7788);
    CU_ASSERT_EQUAL(emu(M64, B(0x44, 0x89, 0x40, 0x04), &r, &d), X86_EMU_OK);   /* r8d */
    CU_ASSERT_EQUAL(d.written, 0xccccdddd);
    CU_ASSERT_EQUAL(emu(M64, B(0x4c, 0x89, 0x07), &r, &d), X86_EMU_OK);   /* r8 */
    CU_ASSERT_EQUAL(d.written, 0xaaaabbbbccccddddull);
    CU_ASSERT_EQUAL(d.size, 8);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x1122334455667788ull);              /* unchanged */
}

static void test_emu_store_imm_and_moffs(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0x1122334455667788ull } };
    fake_dev_t d = { .mem = 0xcafef00d };
    CU_ASSERT_EQUAL(emu(M64, B(0xc7, 0x87, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12), &r,
                        &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x12345678);
    CU_ASSERT_EQUAL(d.size, 4);
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0xc7, 0x07, 0x00, 0x00, 0x00, 0x80), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0xffffffff80000000ull);
    CU_ASSERT_EQUAL(d.size, 8);
    CU_ASSERT_EQUAL(emu(M64, B(0xc6, 0x07, 0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0xab);
    CU_ASSERT_EQUAL(d.size, 1);
    CU_ASSERT_EQUAL(emu(M32, B(0xa2, 0x00, 0x10, 0x00, 0x00), &r, &d), X86_EMU_OK);   /* al */
    CU_ASSERT_EQUAL(d.written, 0x88);
    CU_ASSERT_EQUAL(emu(M32, B(0xa1, 0x00, 0x10, 0x00, 0x00), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xcafef00d);
}

static void test_emu_movzx(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = UINT64_MAX } };
    fake_dev_t d = { .mem = 0xffffff80 };
    CU_ASSERT_EQUAL(emu(M64, B(0x0f, 0xb6, 0x07), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x80);
    CU_ASSERT_EQUAL(d.size, 1);
    r.gpr[X86_RAX] = UINT64_MAX;
    CU_ASSERT_EQUAL(emu(M64, B(0x66, 0x0f, 0xb6, 0x07), &r, &d), X86_EMU_OK);   /* movzx ax */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffffffffffff0080ull);
    d.mem = 0x8001;
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0x0f, 0xb7, 0x47, 0x02), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x8001);
    CU_ASSERT_EQUAL(d.size, 2);
}

static void test_emu_movsx(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = UINT64_MAX, [X86_RCX] = 0x55 } };
    fake_dev_t d = { .mem = 0x80 };
    CU_ASSERT_EQUAL(emu(M64, B(0x0f, 0xbe, 0x07), &r, &d), X86_EMU_OK);   /* movsx eax, byte */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffffff80);
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0x0f, 0xbe, 0x07), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffffffffffffff80ull);
    r.gpr[X86_RAX] = 0x1234567812345678ull;
    CU_ASSERT_EQUAL(emu(M64, B(0x66, 0x0f, 0xbe, 0x07), &r, &d), X86_EMU_OK);   /* movsx ax */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0x123456781234ff80ull);
    d.mem = 0x8000;
    CU_ASSERT_EQUAL(emu(M64, B(0x0f, 0xbf, 0x0f), &r, &d), X86_EMU_OK);   /* movsx ecx, word */
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0xffff8000);
    d.mem = 0x7f;
    CU_ASSERT_EQUAL(emu(M64, B(0x0f, 0xbe, 0x0f), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0x7f);
    d.mem = 0x80000000;
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0x63, 0x47, 0x08), &r, &d), X86_EMU_OK);   /* movsxd */
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffffffff80000000ull);
    CU_ASSERT_EQUAL(d.size, 4);
}

static void test_emu_stos_single(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0x1122334455667788ull, [X86_RDI] = 0x1000,
                              [X86_RCX] = 7 } };
    fake_dev_t d = { 0 };
    CU_ASSERT_EQUAL(emu(M64, B(0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x55667788);
    CU_ASSERT_EQUAL(d.size, 4);
    CU_ASSERT_EQUAL(d.gpa, MMIO_GPA);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x1004);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 7);   /* no REP: RCX untouched */
    CU_ASSERT_EQUAL(emu(M64, B(0xaa), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x88);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x1005);
    r.rflags = X86_RFLAGS_DF;
    CU_ASSERT_EQUAL(emu(M64, B(0x48, 0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0x1122334455667788ull);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0xffd);
}

static void test_emu_rep_stos(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0xa5a5a5a5, [X86_RDI] = 0x2000, [X86_RCX] = 2 } };
    fake_dev_t d = { 0 };
    x86_insn_t i = ok(M64, B(0xf3, 0xab));
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, &r, MMIO_GPA, dev_read, dev_write, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.writes, 1);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 1);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x2004);
    CU_ASSERT_TRUE(x86_emulate_rep_pending(&i, &r));
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, &r, MMIO_GPA + 4, dev_read, dev_write, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.writes, 2);
    CU_ASSERT_EQUAL(d.gpa, MMIO_GPA + 4);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0);
    CU_ASSERT_FALSE(x86_emulate_rep_pending(&i, &r));
    /* REP with RCX = 0: nothing happens. */
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, &r, MMIO_GPA, dev_read, dev_write, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.writes, 2);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x2008);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0);
    /* Backwards. */
    r.gpr[X86_RCX] = 5;
    r.rflags = X86_RFLAGS_DF | RFLAGS_FIXED;
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, &r, MMIO_GPA, dev_read, dev_write, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x2004);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 4);
    CU_ASSERT_EQUAL(r.rflags, X86_RFLAGS_DF | RFLAGS_FIXED);
    /* A non-REP instruction never leaves work pending. */
    x86_insn_t once = ok(M64, B(0xab));
    CU_ASSERT_FALSE(x86_emulate_rep_pending(&once, &r));
}

static void test_emu_stos_address_size(void)
{
    /* 67 in 64-bit mode: EDI and ECX, written zero-extended. */
    x86_regs_t r = { .gpr = { [X86_RDI] = 0xabcd0000fffffffcull, [X86_RCX] = 0x100000001ull } };
    fake_dev_t d = { 0 };
    CU_ASSERT_EQUAL(emu(M64, B(0x67, 0xf3, 0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.writes, 1);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0);
    /* Only ECX counts: RCX = 1 << 32 means no iteration. */
    r.gpr[X86_RCX] = 0x100000000ull;
    CU_ASSERT_EQUAL(emu(M64, B(0x67, 0xf3, 0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.writes, 1);
    /* 16-bit: DI and CX wrap, the upper bits stay. */
    r.gpr[X86_RDI] = 0x123400000000fffeull;
    r.gpr[X86_RCX] = 0x55550001ull;
    r.gpr[X86_RAX] = 0xbeef;
    CU_ASSERT_EQUAL(emu(M16, B(0xf3, 0xab), &r, &d), X86_EMU_OK);
    CU_ASSERT_EQUAL(d.written, 0xbeef);
    CU_ASSERT_EQUAL(d.size, 2);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x1234000000000000ull);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0x55550000ull);
}

static void test_emu_movs_unsupported(void)
{
    x86_regs_t r = { .gpr = { [X86_RSI] = 0x1000, [X86_RDI] = 0x2000, [X86_RCX] = 3 } };
    x86_regs_t before = r;
    fake_dev_t d = { 0 };
    CU_ASSERT_EQUAL(emu(M64, B(0xf3, 0xa4), &r, &d), X86_EMU_UNSUPPORTED);
    CU_ASSERT_EQUAL(d.reads + d.writes, 0);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
}

/* Run `bytes` with memory = mem, rax = rax; return the status flags. */
static uint64_t alu_flags(x86_mode_t mode, const uint8_t *bytes, size_t n, uint64_t mem,
                          uint64_t rax, fake_dev_t *d, x86_regs_t *r)
{
    memset(d, 0, sizeof(*d));
    d->mem = mem;
    memset(r, 0, sizeof(*r));
    r->gpr[X86_RAX] = rax;
    /* Status flags set beforehand must be recomputed; DF, IF and bit 1 kept. */
    r->rflags = X86_RFLAGS_STATUS | X86_RFLAGS_DF | RFLAGS_IF | RFLAGS_FIXED;
    CU_ASSERT_EQUAL(emu(mode, bytes, n, r, d), X86_EMU_OK);
    CU_ASSERT_EQUAL(r->rflags & ~X86_RFLAGS_STATUS, X86_RFLAGS_DF | RFLAGS_IF | RFLAGS_FIXED);
    return r->rflags & X86_RFLAGS_STATUS;
}

/* ADC/SBB take CF in; INC/DEC keep CF; NEG's CF is (operand != 0); NOT keeps
 * every flag (SDM Vol. 2A "ADC" "INC" "DEC", Vol. 2B "SBB" "NEG" "NOT").
 * alu_flags() starts with every status flag set, CF included. */
static void test_emu_adc_sbb_inc_dec_not_neg(void)
{
    fake_dev_t d;
    x86_regs_t r;
    const uint64_t F_CF = X86_RFLAGS_CF, F_PF = X86_RFLAGS_PF, F_AF = X86_RFLAGS_AF,
                   F_ZF = X86_RFLAGS_ZF, F_SF = X86_RFLAGS_SF, F_OF = X86_RFLAGS_OF;
    /* adc [rdi], eax: 0xffffffff + 0 + CF = 0, carry out */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x11, 0x07), 0xffffffff, 0, &d, &r),
                    F_CF | F_ZF | F_PF | F_AF);
    CU_ASSERT_EQUAL(d.written, 0);
    /* sbb eax, [rdi]: 0 - 0 - CF = 0xffffffff, borrow, into the register */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x1b, 0x07), 0, 0, &d, &r), F_CF | F_SF | F_PF | F_AF);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffffffffull);
    CU_ASSERT_EQUAL(d.writes, 0);
    /* sbb byte [rdi], 0x7f: 0x80 - 0x7f - 1 = 0 (-128 - 127 - 1 = -256: OF) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x80, 0x1f, 0x7f), 0x80, 0, &d, &r),
                    F_ZF | F_PF | F_AF | F_OF);
    /* inc dword [rdi]: 0x7fffffff -> 0x80000000, CF kept */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0xff, 0x07), 0x7fffffff, 0, &d, &r),
                    F_CF | F_OF | F_SF | F_AF | F_PF);
    CU_ASSERT_EQUAL(d.written, 0x80000000ull);
    /* dec byte [rdi]: 0 -> 0xff, CF kept (set) although it borrows */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0xfe, 0x0f), 0, 0, &d, &r), F_CF | F_SF | F_AF | F_PF);
    CU_ASSERT_EQUAL(d.written, 0xff);
    /* neg qword [rdi]: 0 -> 0, CF clear; 1 -> all ones, CF set */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x48, 0xf7, 0x1f), 0, 0, &d, &r), F_ZF | F_PF);
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x48, 0xf7, 0x1f), 1, 0, &d, &r),
                    F_CF | F_SF | F_AF | F_PF);
    CU_ASSERT_EQUAL(d.written, ~0ull);
    /* not word [rdi]: no flag changes */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x66, 0xf7, 0x17), 0x00ff, 0, &d, &r), X86_RFLAGS_STATUS);
    CU_ASSERT_EQUAL(d.written, 0xff00);
    CU_ASSERT_EQUAL(d.writes, 1);
}

static void test_emu_and_or_xor_flags(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* and [rdi], eax: 0xf0f0 & 0x0f0f = 0 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x21, 0x07), 0xf0f0, 0x0f0f, &d, &r),
                    X86_RFLAGS_ZF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.writes, 1);
    CU_ASSERT_EQUAL(d.written, 0);
    CU_ASSERT_EQUAL(d.size, 4);
    /* or [rdi], eax: 0x80000000 | 1 (low byte 0x01: odd parity) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x09, 0x07), 0x80000000, 1, &d, &r), X86_RFLAGS_SF);
    CU_ASSERT_EQUAL(d.written, 0x80000001);
    /* xor qword [rdi], -1 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x48, 0x83, 0x37, 0xff), 0x00ff00ff00ff00ffull, 0, &d, &r),
                    X86_RFLAGS_SF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0xff00ff00ff00ff00ull);
    CU_ASSERT_EQUAL(d.size, 8);
    /* orb $1, (%rdi): 0x80 | 1 = 0x81 (two bits: even) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x80, 0x0f, 0x01), 0x80, 0, &d, &r),
                    X86_RFLAGS_SF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0x81);
    CU_ASSERT_EQUAL(d.size, 1);
    /* andl $-2, (%rdi) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x83, 0x27, 0xfe), 0x7, 0, &d, &r), X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0x6);
}

static void test_emu_add_flags(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* 0xffffffff + 1: carry out, zero, half carry */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x01, 0x07), 0xffffffff, 1, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0);
    /* 0x7fffffff + 1: signed overflow */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x01, 0x07), 0x7fffffff, 1, &d, &r),
                    X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0x80000000);
    /* add byte [rdi], al: 0xff + 1 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x00, 0x07), 0xff, 1, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.size, 1);
    /* 64-bit: 0x8000000000000000 + 0x8000000000000000 = 0, CF and OF */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x48, 0x01, 0x07), 1ull << 63, 1ull << 63, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_OF | X86_RFLAGS_ZF | X86_RFLAGS_PF);
    /* addw $-128: 0x0100 + 0xff80 = 0x0080 with carry */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x66, 0x83, 0x07, 0x80), 0x0100, 0, &d, &r), X86_RFLAGS_CF);
    CU_ASSERT_EQUAL(d.written, 0x0080);
    /* 2 + 1 = 3: only PF (two bits) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x01, 0x07), 2, 1, &d, &r), X86_RFLAGS_PF);
}

static void test_emu_sub_flags(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* 0 - 1: borrow */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x29, 0x07), 0, 1, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_SF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0xffffffff);
    /* 0x80000000 - 1: signed overflow */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x29, 0x07), 0x80000000, 1, &d, &r),
                    X86_RFLAGS_OF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0x7fffffff);
    /* 16-bit: 0x8000 - 1 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x66, 0x29, 0x07), 0x8000, 1, &d, &r),
                    X86_RFLAGS_OF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.written, 0x7fff);
    /* 0x10 - 0x10 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x83, 0x2f, 0x10), 0x10, 0, &d, &r),
                    X86_RFLAGS_ZF | X86_RFLAGS_PF);
    /* sub ax, [rdi] (reg destination): 1 - 2, upper bits of rax kept */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x66, 0x2b, 0x07), 2, 0xaaaabbbbcccc0001ull, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_SF | X86_RFLAGS_AF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xaaaabbbbccccffffull);
    CU_ASSERT_EQUAL(d.writes, 0);
}

static void test_emu_cmp_flags(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* cmp [rdi], eax: equal */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x39, 0x07), 5, 5, &d, &r), X86_RFLAGS_ZF | X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.writes, 0);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 5);
    /* cmp [rdi], eax: 3 - 5 = 0xfffffffe (7 bits set: odd) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x39, 0x07), 3, 5, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_SF | X86_RFLAGS_AF);
    /* cmp eax, [rdi]: 5 - 3 = 2; operand order matters */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x3b, 0x07), 3, 5, &d, &r), 0);
    CU_ASSERT_EQUAL(d.writes, 0);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 5);
    /* cmpl $5, (%rdi) with 3 */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x83, 0x3f, 0x05), 3, 0, &d, &r),
                    X86_RFLAGS_CF | X86_RFLAGS_SF | X86_RFLAGS_AF);
    CU_ASSERT_EQUAL(d.writes, 0);
    /* cmp byte: 0x80 - 0x01 = 0x7f, overflow */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x38, 0x07), 0x80, 0x01, &d, &r),
                    X86_RFLAGS_OF | X86_RFLAGS_AF);
}

static void test_emu_test_flags(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* test [rdi], eax: 0x100 & 0x100 (low byte zero: PF) */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x85, 0x07), 0x100, 0x100, &d, &r), X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(d.writes, 0);
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x85, 0x07), 0x0f, 0xf0, &d, &r),
                    X86_RFLAGS_ZF | X86_RFLAGS_PF);
    /* test [rdi], ah */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x84, 0x27), 0x80, 0x8000, &d, &r), X86_RFLAGS_SF);
}

/* TEST with an immediate, XCHG, PUSH and POP with a memory operand. */
static void test_test_xchg_push_pop(void)
{
    x86_insn_t i = ok(M64, B(0xf6, 0x07, 0x81));                 /* test byte [rdi], 0x81 */
    CU_ASSERT_EQUAL(i.op, X86_OP_TEST);
    CU_ASSERT_EQUAL(i.mem_size, 1);
    CU_ASSERT_TRUE(i.has_imm && i.imm == 0x81);
    i = ok(M64, B(0x48, 0xf7, 0x47, 0x04, 0xff, 0xff, 0xff, 0xff)); /* test qword [rdi+4], -1 */
    CU_ASSERT_EQUAL(i.op, X86_OP_TEST);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(i.imm, ~0ull);
    i = ok(M16, B(0xf7, 0x07, 0x34, 0x12));                      /* test word [bx], 0x1234 */
    CU_ASSERT_EQUAL(i.imm, 0x1234);
    i = ok(M32, B(0x87, 0x0f));                                  /* xchg [edi], ecx */
    CU_ASSERT_EQUAL(i.op, X86_OP_XCHG);
    CU_ASSERT_EQUAL(i.reg, X86_RCX);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    i = ok(M64, B(0xf0, 0x86, 0x27));                            /* lock xchg [rdi], ah */
    CU_ASSERT_TRUE(i.reg_high_byte);
    i = ok(M64, B(0xff, 0x37));                                  /* push qword [rdi] */
    CU_ASSERT_EQUAL(i.op, X86_OP_PUSH);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT_EQUAL(ok(M64, B(0x66, 0xff, 0x37)).mem_size, 2);
    CU_ASSERT_EQUAL(ok(M32, B(0xff, 0x37)).mem_size, 4);
    i = ok(M32, B(0x8f, 0x47, 0x10));                            /* pop dword [edi+16] */
    CU_ASSERT_EQUAL(i.op, X86_OP_POP);
    CU_ASSERT_EQUAL(i.mem_size, 4);
    CU_ASSERT_EQUAL(ok(M64, B(0x8f, 0x07)).mem_size, 8);
}

static void test_emu_xchg_test_imm(void)
{
    fake_dev_t d = { .mem = 0x11223344 };
    x86_regs_t r = { .rflags = RFLAGS_FIXED };
    r.gpr[X86_RCX] = 0xAAAAAAAA55667788ull;
    CU_ASSERT_EQUAL(emu(M64, B(0x87, 0x0f), &r, &d), X86_EMU_OK);     /* xchg [rdi], ecx */
    CU_ASSERT_EQUAL(d.written, 0x55667788);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0x11223344);                      /* 32-bit write zeroes */
    CU_ASSERT_EQUAL(r.rflags, RFLAGS_FIXED);                          /* no flags */
    d = (fake_dev_t){ .mem = 0x80 };
    r = (x86_regs_t){ .rflags = RFLAGS_FIXED | X86_RFLAGS_CF };
    CU_ASSERT_EQUAL(emu(M64, B(0xf6, 0x07, 0x81), &r, &d), X86_EMU_OK);  /* test byte, 0x81 */
    CU_ASSERT_EQUAL(r.rflags, RFLAGS_FIXED | X86_RFLAGS_SF);
    CU_ASSERT_EQUAL(d.writes, 0);
    d = (fake_dev_t){ .mem = 0x80, .fail_write = true };
    CU_ASSERT_EQUAL(emu(M64, B(0x87, 0x0f), &r, &d), X86_EMU_DEVICE_ERROR);
    d = (fake_dev_t){ 0 };
    CU_ASSERT_EQUAL(emu(M64, B(0xff, 0x37), &r, &d), X86_EMU_UNSUPPORTED);  /* push: mmio.c */
}

static void test_emu_reg_dest_and_high_byte(void)
{
    fake_dev_t d;
    x86_regs_t r;
    /* and eax, [rdi]: 32-bit result zero-extends rax */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x23, 0x07), 0x0000ffff, UINT64_MAX, &d, &r), X86_RFLAGS_PF);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffff);
    CU_ASSERT_EQUAL(d.writes, 0);
    /* or [rdi], ah */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0x08, 0x27), 0x03, 0x1200, &d, &r), 0);
    CU_ASSERT_EQUAL(d.written, 0x13);
    CU_ASSERT_EQUAL(d.size, 1);
    /* add ah, [rdi] */
    alu_flags(M64, B(0x02, 0x27), 0x01, 0xffff12ff, &d, &r);
    CU_ASSERT_EQUAL(r.gpr[X86_RAX], 0xffff13ff);
    /* lock add: emulated like add */
    CU_ASSERT_EQUAL(alu_flags(M64, B(0xf0, 0x01, 0x07), 1, 1, &d, &r), 0);
    CU_ASSERT_EQUAL(d.written, 2);
}

static void test_emu_device_errors(void)
{
    x86_regs_t r = { .gpr = { [X86_RAX] = 0x1234, [X86_RDI] = 0x1000, [X86_RCX] = 4 },
                     .rflags = RFLAGS_FIXED };
    x86_regs_t before = r;
    fake_dev_t d = { .mem = 0xffff, .fail_read = true };
    CU_ASSERT_EQUAL(emu(M64, B(0x8b, 0x07), &r, &d), X86_EMU_DEVICE_ERROR);
    CU_ASSERT_EQUAL(emu(M64, B(0x0f, 0xb6, 0x07), &r, &d), X86_EMU_DEVICE_ERROR);
    CU_ASSERT_EQUAL(emu(M64, B(0x39, 0x07), &r, &d), X86_EMU_DEVICE_ERROR);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
    d.fail_read = false;
    d.fail_write = true;
    CU_ASSERT_EQUAL(emu(M64, B(0x89, 0x07), &r, &d), X86_EMU_DEVICE_ERROR);
    CU_ASSERT_EQUAL(emu(M64, B(0x01, 0x07), &r, &d), X86_EMU_DEVICE_ERROR);   /* flags kept */
    CU_ASSERT_EQUAL(emu(M64, B(0xf3, 0xab), &r, &d), X86_EMU_DEVICE_ERROR);   /* rdi, rcx kept */
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof(r)), 0);
}

static void test_emu_refuses_bad_input(void)
{
    x86_regs_t r = { 0 };
    fake_dev_t d = { 0 };
    x86_insn_t i = ok(M64, B(0x8b, 0x07));
    CU_ASSERT_EQUAL(x86_emulate_mmio(NULL, &r, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, NULL, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    CU_ASSERT_EQUAL(x86_emulate_mmio(&i, &r, 0, NULL, dev_write, &d), X86_EMU_UNSUPPORTED);
    x86_insn_t bad = i;
    bad.op = X86_OP_NONE;
    CU_ASSERT_EQUAL(x86_emulate_mmio(&bad, &r, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    bad = i;
    bad.mem_size = 3;
    CU_ASSERT_EQUAL(x86_emulate_mmio(&bad, &r, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    bad = i;
    bad.reg = 16;
    CU_ASSERT_EQUAL(x86_emulate_mmio(&bad, &r, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    bad = i;
    bad.reg = X86_RSP;
    bad.reg_high_byte = true;
    CU_ASSERT_EQUAL(x86_emulate_mmio(&bad, &r, 0, dev_read, dev_write, &d), X86_EMU_UNSUPPORTED);
    x86_insn_t st = ok(M64, B(0x89, 0x07));
    CU_ASSERT_EQUAL(x86_emulate_mmio(&st, &r, 0, dev_read, NULL, &d), X86_EMU_UNSUPPORTED);
    CU_ASSERT_EQUAL(d.reads + d.writes, 0);
    CU_ASSERT_FALSE(x86_emulate_rep_pending(NULL, &r));
}

/* ---- random bytes ----------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)   /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Bytes that steer random strings into the decoder's paths. */
static const uint8_t hot_bytes[] = {
    0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x41, 0x44, 0x48,
    0x4c, 0x4f, 0x0f, 0xb6, 0xb7, 0xbe, 0xbf, 0x63, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0,
    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0x80, 0x81, 0x83, 0x84, 0x85, 0x00, 0x01, 0x03,
    0x09, 0x0b, 0x21, 0x23, 0x29, 0x31, 0x39, 0x3b, 0x04, 0x05, 0x07, 0x24, 0x25, 0x45, 0x87,
    0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0xa6, 0xa7, 0xac, 0xad, 0xae, 0xaf, 0xba, 0xb0, 0xb1,
    0xc0, 0xc1, 0xa3, 0xab, 0xb3, 0xbb, 0xad, 0xff, 0x8f, 0x17, 0x27, 0x37,
};

#define RANDOM_CASES 100000

static void check_decoded(const x86_insn_t *i, size_t avail)
{
    CU_ASSERT(i->length >= 1 && i->length <= X86_MAX_INSN_LEN && i->length <= avail);
    CU_ASSERT(i->op != X86_OP_NONE);
    CU_ASSERT(i->mem_size == 1 || i->mem_size == 2 || i->mem_size == 4 || i->mem_size == 8);
    CU_ASSERT(i->addr_size == 2 || i->addr_size == 4 || i->addr_size == 8);
    CU_ASSERT(i->reg >= -1 && i->reg <= 15);
    CU_ASSERT(!i->reg_high_byte || (i->reg >= 0 && i->reg <= 3));
    CU_ASSERT(i->seg_override >= -1 && i->seg_override <= 5);
}

static void test_random_bytes(void)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    unsigned decoded = 0, failures = 0;
    for (unsigned n = 0; n < RANDOM_CASES; n++) {
        size_t avail = (size_t)(rng() % 18);
        x86_mode_t mode = (x86_mode_t)(n % 3);
        uint8_t *buf = avail ? malloc(avail) : NULL;
        for (size_t k = 0; k < avail; k++) {
            uint64_t v = rng();
            buf[k] = (v & 1) ? hot_bytes[(v >> 8) % sizeof(hot_bytes)] : (uint8_t)(v >> 16);
        }
        x86_insn_t i;
        x86_decode_status_t st = x86_decode(buf, avail, mode, &i);
        if (st > X86_DECODE_TOO_LONG)
            failures++;
        if (st != X86_DECODE_OK) {
            if (i.op != X86_OP_NONE || i.length != 0)
                failures++;
            if (st == X86_DECODE_TRUNCATED && avail >= X86_MAX_INSN_LEN)
                failures++;
            free(buf);
            continue;
        }
        decoded++;
        check_decoded(&i, avail);
        /* The decoder reads only the instruction: its exact bytes decode the same. */
        uint8_t *exact = malloc(i.length);
        memcpy(exact, buf, i.length);
        x86_insn_t again;
        if (x86_decode(exact, i.length, mode, &again) != X86_DECODE_OK ||
            again.length != i.length || again.op != i.op || again.mem_size != i.mem_size ||
            again.reg != i.reg || again.imm != i.imm)
            failures++;
        free(exact);
        /* Emulation of whatever decoded never faults and touches memory once or twice. */
        x86_regs_t r = { .rip = 0x1000 };
        for (int g = 0; g < 16; g++)
            r.gpr[g] = rng();
        r.rflags = rng() & (X86_RFLAGS_STATUS | X86_RFLAGS_DF);
        fake_dev_t d = { .mem = rng() };
        x86_emu_status_t es = x86_emulate_mmio(&i, &r, MMIO_GPA, dev_read, dev_write, &d);
        if (es == X86_EMU_DEVICE_ERROR ||
            /* Without guest-linear memory: the forms with a stack or second
             * string operand; a jump to a non-canonical target is #GP. */
            (es == X86_EMU_UNSUPPORTED && i.op != X86_OP_MOVS && i.op != X86_OP_PUSH &&
             i.op != X86_OP_POP && i.op != X86_OP_CMPS && i.op != X86_OP_CALL_IND) ||
            (es == X86_EMU_FAULT && i.op != X86_OP_JMP_IND && i.op != X86_OP_CALL_IND &&
             i.op != X86_OP_DIV && i.op != X86_OP_IDIV) ||   /* #GP, #DE */
            d.reads > 1 || d.writes > 1 || ((d.reads || d.writes) && d.size != i.mem_size))
            failures++;
        free(buf);
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT(decoded > RANDOM_CASES / 20);   /* the generator does reach the decoder */
}

/* Every 1- and 2-byte string in every mode: no crash, sane results. */
static void test_all_short_strings(void)
{
    unsigned failures = 0;
    uint8_t *two = malloc(2), *one = malloc(1);
    for (int mode = M16; mode <= M64; mode++) {
        for (unsigned a = 0; a < 256; a++) {
            one[0] = (uint8_t)a;
            x86_insn_t i;
            x86_decode_status_t st = x86_decode(one, 1, (x86_mode_t)mode, &i);
            if (st == X86_DECODE_OK && i.length != 1)
                failures++;
            for (unsigned b = 0; b < 256; b++) {
                two[0] = (uint8_t)a;
                two[1] = (uint8_t)b;
                st = x86_decode(two, 2, (x86_mode_t)mode, &i);
                if (st == X86_DECODE_OK && (i.length < 1 || i.length > 2))
                    failures++;
            }
        }
    }
    free(one);
    free(two);
    CU_ASSERT_EQUAL(failures, 0);
}

UNIT_SUITE(x86_decode_suite)
{
    CU_pSuite s = CU_add_suite("vmm x86 decoder", NULL, NULL);
    CU_add_test(s, "mov eax, [rdi] (8b 07)", test_mov_load_rdi);
    CU_add_test(s, "mov stores with disp8/disp32 (89 47 10, writel)", test_mov_store_disp8);
    CU_add_test(s, "mov [rdi+0x100], imm32 (c7 87 ...)", test_mov_store_imm32);
    CU_add_test(s, "mov imm: imm8, imm16, sign-extended imm32", test_mov_store_imm_sizes);
    CU_add_test(s, "RIP-relative and absolute disp32", test_rip_relative);
    CU_add_test(s, "memory operand addresses (x86_decode_ea)", test_effective_address);
    CU_add_test(s, "66 operand size, REX.W over 66", test_opsize_prefix);
    CU_add_test(s, "AH CH DH BH without REX", test_high_byte_regs);
    CU_add_test(s, "SPL..DIL and r8b with REX", test_rex_byte_regs);
    CU_add_test(s, "REX.R registers (44 89 40 04: r8d)", test_rex_r_regs);
    CU_add_test(s, "SIB forms, REX.B special cases", test_sib_forms);
    CU_add_test(s, "moffs in 16, 32 and 64-bit mode", test_moffs);
    CU_add_test(s, "movzx and movsx", test_movzx_movsx);
    CU_add_test(s, "movsxd in 64-bit mode only", test_movsxd);
    CU_add_test(s, "stos and movs with rep", test_string_ops);
    CU_add_test(s, "16-bit addressing forms", test_16bit_addressing);
    CU_add_test(s, "67 address-size override in every mode", test_addrsize_override);
    CU_add_test(s, "segment overrides", test_segment_overrides);
    CU_add_test(s, "REX must come right before the opcode", test_rex_placement);
    CU_add_test(s, "rep counts only on string instructions", test_rep_only_on_strings);
    CU_add_test(s, "ALU r/m, reg and reg, r/m forms", test_alu_reg_forms);
    CU_add_test(s, "ALU immediate forms 80/81/83", test_alu_imm_forms);
    CU_add_test(s, "lock only on read-modify-write", test_lock_prefix);
    CU_add_test(s, "adc and sbb forms (10-13, 18-1b, 80/81/83 /2 /3)", test_adc_sbb_forms);
    CU_add_test(s, "inc dec not neg (fe/ff /0 /1, f6/f7 /2 /3)", test_inc_dec_not_neg);
    CU_add_test(s, "unsupported and undefined encodings", test_unsupported);
    CU_add_test(s, "status strings", test_status_strings);

    s = CU_add_suite("vmm x86 decoder: hostile input", NULL, NULL);
    CU_add_test(s, "samples decode at exactly their length", test_samples_decode_at_their_length);
    CU_add_test(s, "every truncation is TRUNCATED", test_every_truncation);
    CU_add_test(s, "15-byte limit", test_fifteen_byte_limit);
    CU_add_test(s, "bad arguments", test_bad_arguments);
    CU_add_test(s, "100000 random byte strings", test_random_bytes);
    CU_add_test(s, "every 1- and 2-byte string", test_all_short_strings);

    s = CU_add_suite("vmm x86 MMIO emulation", NULL, NULL);
    CU_add_test(s, "mov loads: 32-bit zero-extends, 16-bit merges", test_emu_mov_load_widths);
    CU_add_test(s, "mov loads into AH, AL, SPL, R8B", test_emu_mov_load_bytes);
    CU_add_test(s, "mov stores from eax, ah, ax, r8d, r8", test_emu_mov_store);
    CU_add_test(s, "mov immediate and moffs", test_emu_store_imm_and_moffs);
    CU_add_test(s, "movzx", test_emu_movzx);
    CU_add_test(s, "movsx and movsxd", test_emu_movsx);
    CU_add_test(s, "stos without rep, DF", test_emu_stos_single);
    CU_add_test(s, "rep stos: one element per call, RCX = 0", test_emu_rep_stos);
    CU_add_test(s, "stos with 32 and 16-bit addresses", test_emu_stos_address_size);
    CU_add_test(s, "movs is not emulated", test_emu_movs_unsupported);
    CU_add_test(s, "and/or/xor flags", test_emu_and_or_xor_flags);
    CU_add_test(s, "add flags", test_emu_add_flags);
    CU_add_test(s, "adc sbb inc dec not neg flags", test_emu_adc_sbb_inc_dec_not_neg);
    CU_add_test(s, "sub flags", test_emu_sub_flags);
    CU_add_test(s, "cmp flags, no write, operand order", test_emu_cmp_flags);
    CU_add_test(s, "test flags", test_emu_test_flags);
    CU_add_test(s, "test imm, xchg, push, pop decode", test_test_xchg_push_pop);
    CU_add_test(s, "xchg and test imm emulate", test_emu_xchg_test_imm);
    CU_add_test(s, "register destinations and AH", test_emu_reg_dest_and_high_byte);
    CU_add_test(s, "device errors leave registers alone", test_emu_device_errors);
    CU_add_test(s, "malformed input is refused", test_emu_refuses_bad_input);
}
