/*
 * tests/unit/test_x86_emufault.c - the MMIO emulator where the host CPU
 * cannot be asked (tests/unit/test_x86_emudiff.c runs 64-bit mode at CPL 3
 * only): decoding of the shift, bit-test, exchange, string and branch forms
 * in 16-, 32- and 64-bit modes with their LOCK rules; 16- and 32-bit
 * address and stack sizes, segment bases and limits; and the exceptions a
 * CPU raises (#GP #SS #PF #AC) with their error codes and CR2, registers
 * left as they were.
 */
#include "unit.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <string.h>

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })
#define M16 X86_MODE_16
#define M32 X86_MODE_32
#define M64 X86_MODE_64

#define DEV_GPA    0xFEE00000ull   /* the device operand's guest-physical address */
#define MEM_BYTES  0x20000u        /* guest-linear 0..128 KiB: "RAM" */
#define HOLE_LA    0x8000u         /* a page the guest's paging does not map */
#define RO_LA      0xA000u         /* a page whose rights forbid writes */
#define PAGE_4K    0x1000u

/* The device (one register) and guest-linear memory. */
typedef struct {
    uint64_t reg;
    unsigned reads, writes, lin_calls;
    uint64_t last_gpa, last_la;
    uint8_t mem[MEM_BYTES];
} world_t;

static world_t w;

static bool dev_rd(void *ctx, uint64_t gpa, unsigned size, uint64_t *v)
{
    world_t *x = ctx;
    x->reads++;
    x->last_gpa = gpa;
    *v = x->reg & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
    return true;
}

static bool dev_wr(void *ctx, uint64_t gpa, unsigned size, uint64_t v)
{
    world_t *x = ctx;
    x->writes++;
    x->last_gpa = gpa;
    x->reg = v & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
    return true;
}

static x86_lin_status_t lin(void *ctx, uint64_t la, unsigned size, bool write, uint64_t *v,
                            uint64_t *fault_la)
{
    world_t *x = ctx;
    x->lin_calls++;
    x->last_la = la;
    if (la >= HOLE_LA && la < HOLE_LA + PAGE_4K) {
        *fault_la = la;
        return X86_LIN_UNMAPPED;
    }
    if (write && la >= RO_LA && la < RO_LA + PAGE_4K) {
        *fault_la = la;
        return X86_LIN_DENIED;
    }
    if (la + size < la || la + size > MEM_BYTES)
        return X86_LIN_ERROR;
    if (write)
        memcpy(x->mem + la, v, size);
    else
        memcpy(v, x->mem + la, size);
    return X86_LIN_OK;
}

/* A flat environment of `mode` at CPL 0: limits 0xFFFF in 16-bit mode,
 * 4 GiB in 32-bit mode. */
static x86_env_t flat(x86_mode_t mode)
{
    x86_env_t e = { .mode = mode, .stack_addr_size = mode == M16 ? 2 : 4,
                    .cs_limit = mode == M16 ? 0xFFFF : 0xFFFFFFFF,
                    .rd = dev_rd, .wr = dev_wr, .dev = &w, .lin = lin, .lin_ctx = &w };
    for (unsigned i = 0; i < 6; i++)
        e.seg[i].hi = mode == M16 ? 0xFFFF : 0xFFFFFFFF;
    return e;
}

static x86_insn_t dec(x86_mode_t mode, const uint8_t *b, size_t n)
{
    x86_insn_t i;
    CU_ASSERT_EQUAL(x86_decode(b, n, mode, &i), X86_DECODE_OK);
    CU_ASSERT_EQUAL(i.length, n);
    return i;
}

static x86_decode_status_t st(x86_mode_t mode, const uint8_t *b, size_t n)
{
    x86_insn_t i;
    return x86_decode(b, n, mode, &i);
}

static void reset(void)
{
    memset(&w, 0, sizeof w);
}

/* ---- decoding ---- */

static void test_decode_shifts(void)
{
    x86_insn_t i = dec(M64, B(0x48, 0xc1, 0x27, 0xff));       /* shl qword [rdi], 0xff */
    CU_ASSERT_EQUAL(i.op, X86_OP_SHL);
    CU_ASSERT_EQUAL(i.mem_size, 8);
    CU_ASSERT(i.has_imm && i.imm == 0xff && !i.count_cl);      /* zero-extended */
    i = dec(M64, B(0xd0, 0x0f));                               /* ror byte [rdi], 1 */
    CU_ASSERT_EQUAL(i.op, X86_OP_ROR);
    CU_ASSERT(i.has_imm && i.imm == 1 && i.mem_size == 1);
    i = dec(M32, B(0x66, 0xd3, 0x3d, 0x34, 0x12, 0x00, 0x00));   /* sar word [0x1234], cl */
    CU_ASSERT_EQUAL(i.op, X86_OP_SAR);
    CU_ASSERT(i.count_cl && !i.has_imm && i.mem_size == 2);
    i = dec(M16, B(0xd3, 0x17));                               /* rcl word [bx], cl */
    CU_ASSERT(i.op == X86_OP_RCL && i.mem_size == 2 && i.count_cl);
    i = dec(M16, B(0x66, 0xc1, 0x1f, 0x03));                   /* rcr dword [bx], 3 */
    CU_ASSERT(i.op == X86_OP_RCR && i.mem_size == 4 && i.imm == 3);
    i = dec(M64, B(0x0f, 0xa4, 0x07, 0x05));                   /* shld [rdi], eax, 5 */
    CU_ASSERT(i.op == X86_OP_SHLD && i.reg == X86_RAX && i.reg_size == 4 && i.imm == 5);
    i = dec(M64, B(0x4c, 0x0f, 0xad, 0x07));                   /* shrd [rdi], r8, cl */
    CU_ASSERT(i.op == X86_OP_SHRD && i.reg == X86_R8 && i.mem_size == 8 && i.count_cl);
    /* No LOCK on shifts (SDM Vol. 2B LOCK lists none); /6 is blank (Table A-6). */
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0xd1, 0x27)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0x0f, 0xa5, 0x07)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(st(M64, B(0xc1, 0x37, 0x01)), X86_DECODE_UNSUPPORTED);
    CU_ASSERT_EQUAL(st(M64, B(0xd1, 0xe0)), X86_DECODE_UNSUPPORTED);   /* shl eax, 1 */
}

static void test_decode_bits_exchange(void)
{
    x86_insn_t i = dec(M64, B(0x0f, 0xa3, 0x0f));             /* bt [rdi], ecx */
    CU_ASSERT(i.op == X86_OP_BT && i.reg == X86_RCX && i.mem_size == 4 && !i.has_imm);
    i = dec(M64, B(0xf0, 0x48, 0x0f, 0xab, 0x07));             /* lock bts [rdi], rax */
    CU_ASSERT(i.op == X86_OP_BTS && i.mem_size == 8);
    i = dec(M16, B(0x0f, 0xb3, 0x07));                         /* btr [bx], ax */
    CU_ASSERT(i.op == X86_OP_BTR && i.mem_size == 2);
    i = dec(M64, B(0x66, 0x0f, 0xba, 0x3f, 0x21));             /* btc word [rdi], 0x21 */
    CU_ASSERT(i.op == X86_OP_BTC && i.mem_size == 2 && i.imm == 0x21);
    i = dec(M64, B(0x0f, 0xba, 0x27, 0x80));                   /* bt dword [rdi], 0x80 */
    CU_ASSERT(i.op == X86_OP_BT && i.imm == 0x80);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0x0f, 0xa3, 0x07)), X86_DECODE_INVALID);   /* lock bt */
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0x0f, 0xba, 0x27, 1)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(dec(M64, B(0xf0, 0x0f, 0xba, 0x2f, 1)).op, X86_OP_BTS);
    CU_ASSERT_EQUAL(st(M64, B(0x0f, 0xba, 0x07, 1)), X86_DECODE_INVALID);      /* /0 */

    i = dec(M64, B(0xf0, 0x0f, 0xb0, 0x27));                   /* lock cmpxchg [rdi], ah */
    CU_ASSERT(i.op == X86_OP_CMPXCHG && i.mem_size == 1 && i.reg_high_byte && i.reg == X86_RAX);
    i = dec(M32, B(0x0f, 0xc1, 0x0b));                         /* xadd [ebx], ecx */
    CU_ASSERT(i.op == X86_OP_XADD && i.mem_size == 4 && i.reg == X86_RCX);
    CU_ASSERT_EQUAL(dec(M64, B(0xf0, 0x0f, 0xc0, 0x07)).op, X86_OP_XADD);
}

static void test_decode_strings_branches(void)
{
    x86_insn_t i = dec(M64, B(0xf3, 0xa6));                    /* repe cmpsb */
    CU_ASSERT(i.op == X86_OP_CMPS && i.rep && !i.repne && i.mem_size == 1 && i.reg == -1);
    i = dec(M64, B(0xf3, 0xf2, 0x48, 0xaf));                   /* repne scasq: the last wins */
    CU_ASSERT(i.op == X86_OP_SCAS && i.rep && i.repne && i.mem_size == 8 && i.reg == X86_RAX);
    i = dec(M16, B(0x66, 0x67, 0xad));                         /* lodsd with 32-bit addresses */
    CU_ASSERT(i.op == X86_OP_LODS && i.mem_size == 4 && i.addr_size == 4 && !i.rep);
    i = dec(M32, B(0x26, 0xa5));                               /* es: movsd */
    CU_ASSERT(i.op == X86_OP_MOVS && i.seg_override == X86_SEG_ES);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0xa6)), X86_DECODE_INVALID);

    i = dec(M64, B(0xff, 0x17));                               /* call [rdi] */
    CU_ASSERT(i.op == X86_OP_CALL_IND && i.mem_size == 8);
    i = dec(M64, B(0x66, 0xff, 0x27));                         /* jmp [rdi]: still 64 bits */
    CU_ASSERT(i.op == X86_OP_JMP_IND && i.mem_size == 8);
    CU_ASSERT_EQUAL(dec(M32, B(0xff, 0x17)).mem_size, 4);
    CU_ASSERT_EQUAL(dec(M32, B(0x66, 0xff, 0x17)).mem_size, 2);
    CU_ASSERT_EQUAL(dec(M16, B(0xff, 0x27)).mem_size, 2);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0xff, 0x17)), X86_DECODE_INVALID);
}

static void test_decode_arith_bits(void)
{
    x86_insn_t i = dec(M64, B(0x48, 0xf7, 0x27));             /* mul qword [rdi] */
    CU_ASSERT(i.op == X86_OP_MUL && i.mem_size == 8);
    CU_ASSERT_EQUAL(dec(M16, B(0xf6, 0x2f)).op, X86_OP_IMUL1);  /* imul byte [bx] */
    CU_ASSERT_EQUAL(dec(M32, B(0xf7, 0x37)).op, X86_OP_DIV);
    CU_ASSERT_EQUAL(dec(M64, B(0xf7, 0x3f)).op, X86_OP_IDIV);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0xf7, 0x37)), X86_DECODE_INVALID);
    i = dec(M64, B(0x66, 0x6b, 0x07, 0xff));                   /* imul ax, [rdi], -1 */
    CU_ASSERT(i.op == X86_OP_IMUL && i.reg_dest && i.imm == 0xffff && i.mem_size == 2);
    i = dec(M32, B(0x69, 0x0f, 0x78, 0x56, 0x34, 0x12));       /* imul ecx, [edi], 0x12345678 */
    CU_ASSERT(i.op == X86_OP_IMUL && i.reg == X86_RCX && i.imm == 0x12345678);
    CU_ASSERT_EQUAL(dec(M64, B(0x0f, 0xaf, 0x07)).op, X86_OP_IMUL);
    i = dec(M64, B(0x0f, 0x9c, 0x3f));                         /* setl [rdi]; reg ignored */
    CU_ASSERT(i.op == X86_OP_SETCC && i.cc == 0xc && i.mem_size == 1 && i.reg == -1);
    i = dec(M64, B(0x48, 0x0f, 0x47, 0x07));                   /* cmova rax, [rdi] */
    CU_ASSERT(i.op == X86_OP_CMOVCC && i.cc == 7 && i.mem_size == 8 && i.reg_dest);
    CU_ASSERT_EQUAL(dec(M64, B(0x0f, 0xbc, 0x07)).op, X86_OP_BSF);
    CU_ASSERT_EQUAL(dec(M64, B(0xf3, 0x0f, 0xbc, 0x07)).op, X86_OP_TZCNT);
    CU_ASSERT_EQUAL(dec(M64, B(0x0f, 0xbd, 0x07)).op, X86_OP_BSR);
    CU_ASSERT_EQUAL(dec(M64, B(0xf3, 0x0f, 0xbd, 0x07)).op, X86_OP_LZCNT);
    CU_ASSERT_EQUAL(dec(M64, B(0x66, 0xf3, 0x0f, 0xb8, 0x07)).mem_size, 2);   /* popcnt */
    i = dec(M64, B(0x0f, 0x38, 0xf1, 0x07));                   /* movbe [rdi], eax */
    CU_ASSERT(i.op == X86_OP_MOVBE_STORE && i.mem_size == 4);
    CU_ASSERT_EQUAL(dec(M32, B(0x66, 0x0f, 0x38, 0xf0, 0x07)).op, X86_OP_MOVBE_LOAD);
    CU_ASSERT_EQUAL(dec(M64, B(0x48, 0x0f, 0xc3, 0x07)).op, X86_OP_MOVNTI);
    CU_ASSERT_EQUAL(st(M64, B(0x66, 0x0f, 0xc3, 0x07)), X86_DECODE_INVALID);   /* NP */
    i = dec(M32, B(0xf0, 0x0f, 0xc7, 0x0f));                   /* lock cmpxchg8b [edi] */
    CU_ASSERT(i.op == X86_OP_CMPXCHG8B && i.mem_size == 8);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0x0f, 0xaf, 0x07)), X86_DECODE_INVALID);
    CU_ASSERT_EQUAL(st(M64, B(0xf0, 0x0f, 0x94, 0x07)), X86_DECODE_INVALID);
}

/* ---- 16- and 32-bit modes ---- */

static void test_push_pop_16(void)
{
    reset();
    x86_env_t env = flat(M16);
    env.seg[X86_SEG_SS].base = 0x10000;
    x86_regs_t r = { .gpr = { [X86_RSP] = 0xABCD0000ull }, .rip = 0xFFFE };
    x86_fault_t f;
    w.reg = 0x1234;
    x86_insn_t i = dec(M16, B(0xff, 0x37));                    /* push word [bx] */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    /* SP wraps inside the 64 KiB stack; bits 63:16 stay (SDM Vol. 3A 3.4.5: SS.B = 0). */
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0xABCDFFFEull);
    CU_ASSERT_EQUAL(w.last_la, 0x1FFFE);
    CU_ASSERT_EQUAL(w.mem[0x1FFFE] | w.mem[0x1FFFF] << 8, 0x1234);
    CU_ASSERT_EQUAL(r.rip, 0x0000);                            /* IP wraps too */

    w.reg = 0;
    i = dec(M16, B(0x8f, 0x07));                               /* pop word [bx] */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.reg, 0x1234);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0xABCD0000ull);

    /* 66: a 32-bit push in 16-bit code, on a 32-bit stack (SS.B = 1). */
    env.stack_addr_size = 4;
    env.seg[X86_SEG_SS].hi = 0xFFFFFFFF;
    env.seg[X86_SEG_SS].base = 0;
    r.gpr[X86_RSP] = 0x100;
    w.reg = 0xCAFEF00D;
    i = dec(M16, B(0x66, 0xff, 0x37));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0xFC);
    uint32_t got;
    memcpy(&got, w.mem + 0xFC, 4);
    CU_ASSERT_EQUAL(got, 0xCAFEF00D);
}

static void test_strings_16_32(void)
{
    reset();
    x86_env_t env = flat(M16);
    env.seg[X86_SEG_DS].base = 0x1000;
    env.seg[X86_SEG_ES].base = 0x2000;
    x86_fault_t f;
    /* rep movsw, 16-bit addresses, DF = 1: SI/DI/CX wrap at 16 bits, bits
     * 63:16 stay. */
    w.mem[0x1000 + 0x10] = 0x11;
    w.mem[0x1000 + 0x11] = 0x22;
    x86_regs_t r = { .gpr = { [X86_RSI] = 0x77770010, [X86_RDI] = 0x88880000,
                              [X86_RCX] = 0x99990002 },
                     .rflags = X86_RFLAGS_FIXED | X86_RFLAGS_DF, .rip = 0x100 };
    x86_insn_t i = dec(M16, B(0xf3, 0xa5));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.mem[0x2000], 0x11);
    CU_ASSERT_EQUAL(w.mem[0x2001], 0x22);
    CU_ASSERT_EQUAL(r.gpr[X86_RSI], 0x7777000E);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x8888FFFE);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0x99990001);
    CU_ASSERT_EQUAL(r.rip, 0x100);                             /* one left: again */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.last_la, 0x2000 + 0xFFFE);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 0x99990000);
    CU_ASSERT_EQUAL(r.rip, 0x102);

    /* 32-bit mode: base + offset wraps at 4 GiB (SDM Vol. 3A 3.4.4 ... 5.3). */
    env = flat(M32);
    env.seg[X86_SEG_DS].base = 0xFFFFF000;
    r = (x86_regs_t){ .gpr = { [X86_RSI] = 0x1010, [X86_RDI] = 0x3000 }, .rip = 0x5000 };
    w.mem[0x10] = 0x5A;
    i = dec(M32, B(0xa4));                                     /* movsb */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.mem[0x3000], 0x5A);
    CU_ASSERT_EQUAL(r.gpr[X86_RSI], 0x1011);

    /* REPNE SCASB stops at the first equal element; REP with CX = 0 does nothing. */
    env = flat(M32);
    r = (x86_regs_t){ .gpr = { [X86_RAX] = 0x41, [X86_RDI] = 0x100, [X86_RCX] = 5 },
                      .rip = 0x10 };
    i = dec(M32, B(0xf2, 0xae));
    w.reg = 0x41;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 4);
    CU_ASSERT(r.rflags & X86_RFLAGS_ZF);
    CU_ASSERT_EQUAL(r.rip, 0x12);
    r.gpr[X86_RCX] = 0;
    unsigned reads = w.reads;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.reads, reads);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], 0x101);
    CU_ASSERT_EQUAL(r.rip, 0x14);
}

static void test_branches_16_32(void)
{
    reset();
    x86_env_t env = flat(M16);
    x86_fault_t f;
    x86_regs_t r = { .gpr = { [X86_RSP] = 0x200 }, .rip = 0x1234 };
    w.reg = 0x5678;
    x86_insn_t i = dec(M16, B(0xff, 0x17));                    /* call word [bx] */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.rip, 0x5678);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0x1FE);
    CU_ASSERT_EQUAL(w.mem[0x1FE] | w.mem[0x1FF] << 8, 0x1236);  /* the return IP */

    /* 66 call dword in 16-bit code: a target beyond CS.limit is #GP(0),
     * nothing pushed (SDM Vol. 2A CALL: "IF tempEIP is beyond code segment
     * limit THEN #GP(0)"). */
    w.reg = 0x12345;
    r.rip = 0x1000;
    i = dec(M16, B(0x66, 0xff, 0x17));
    x86_regs_t before = r;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_GP && f.has_error && f.error == 0 && !f.has_cr2);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof r), 0);

    /* 32-bit jmp dword [ebx]. */
    env = flat(M32);
    w.reg = 0x80001000;
    i = dec(M32, B(0xff, 0x23));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.rip, 0x80001000);
}

/* ---- exceptions ---- */

static void test_canonical(void)
{
    reset();
    x86_env_t env = flat(M64);
    x86_fault_t f;
    /* push [rdi] with a non-canonical RSP: #SS(0) (SDM Vol. 2B PUSH, 64-bit
     * mode exceptions); nothing written, registers as before. */
    x86_regs_t r = { .gpr = { [X86_RSP] = 0x0000800000000004ull }, .rip = 0x400000 };
    x86_regs_t before = r;
    x86_insn_t i = dec(M64, B(0xff, 0x37));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_SS && f.has_error && f.error == 0);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof r), 0);
    CU_ASSERT_EQUAL(w.lin_calls, 0);

    /* movsq whose source straddles the canonical boundary: #GP(0). */
    r = (x86_regs_t){ .gpr = { [X86_RSI] = 0x00007FFFFFFFFFFCull, [X86_RDI] = 0x100 } };
    i = dec(M64, B(0x48, 0xa5));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT_EQUAL(f.vector, X86_VEC_GP);

    /* jmp [rdi] to a non-canonical target: #GP(0), RIP stays. */
    w.reg = 0x8000000000000000ull >> 1;
    r.rip = 0x1000;
    i = dec(M64, B(0xff, 0x27));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT_EQUAL(f.vector, X86_VEC_GP);
    CU_ASSERT_EQUAL(r.rip, 0x1000);

    /* fs: movsb takes FS's base; DS's counts as 0 in 64-bit mode. */
    env.seg[X86_SEG_FS].base = 0x4000;
    env.seg[X86_SEG_DS].base = 0x9999;
    r = (x86_regs_t){ .gpr = { [X86_RSI] = 0x10, [X86_RDI] = 0x20 } };
    i = dec(M64, B(0x64, 0xa4));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.last_la, 0x20);
    i = dec(M64, B(0x3e, 0xa4));                               /* ds: is no override */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(w.last_la, 0x21);
}

static void test_limits(void)
{
    reset();
    x86_env_t env = flat(M32);
    x86_fault_t f;
    /* DS limit 0xFFF: a word at 0xFFF ends past it, #GP(0); SS limit: #SS(0)
     * (SDM Vol. 2B MOVS, POP: Protected Mode Exceptions). */
    env.seg[X86_SEG_DS].hi = 0xFFF;
    x86_regs_t r = { .gpr = { [X86_RSI] = 0xFFF, [X86_RDI] = 0x10 } };
    x86_insn_t i = dec(M32, B(0x66, 0xa5));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_GP && f.error == 0);
    r.gpr[X86_RSI] = 0xFFE;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);

    env.seg[X86_SEG_SS].hi = 0x7FF;
    r.gpr[X86_RSP] = 0x7FE;
    i = dec(M32, B(0x8f, 0x03));                               /* pop dword [ebx] */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_SS && f.error == 0);
    CU_ASSERT_EQUAL(w.writes, 0);

    /* An expand-down stack: offsets above the limit only. */
    env.seg[X86_SEG_SS].lo = 0x1000;
    env.seg[X86_SEG_SS].hi = 0xFFFFFFFF;
    r.gpr[X86_RSP] = 0x1003;
    i = dec(M32, B(0xff, 0x33));                               /* push dword [ebx] */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT_EQUAL(f.vector, X86_VEC_SS);
    r.gpr[X86_RSP] = 0x1004;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0x1000);
}

static void test_page_fault(void)
{
    reset();
    x86_env_t env = flat(M64);
    env.cpl = 3;
    x86_fault_t f;
    /* pop [rdi] from an unmapped stack page: #PF, P = 0, W/R = 0 (a read),
     * U/S = 1 (CPL 3), CR2 the address (SDM Vol. 3A 4.7); the device is not
     * written, RSP stays. */
    x86_regs_t r = { .gpr = { [X86_RSP] = HOLE_LA + 0x10 }, .rip = 0x2000 };
    x86_regs_t before = r;
    x86_insn_t i = dec(M64, B(0x8f, 0x07));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_PF && f.has_error && f.has_cr2);
    CU_ASSERT_EQUAL(f.error, X86_PF_USER);
    CU_ASSERT_EQUAL(f.cr2, HOLE_LA + 0x10);
    CU_ASSERT_EQUAL(w.writes, 0);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof r), 0);

    /* rep movsd into an unmapped page at CPL 0: W/R = 1, U/S = 0; the
     * elements done before stay done, rSI/rDI/rCX count them. */
    env.cpl = 0;
    r = (x86_regs_t){ .gpr = { [X86_RSI] = 0x100, [X86_RDI] = HOLE_LA - 4, [X86_RCX] = 3 },
                      .rip = 0x3000 };
    i = dec(M64, B(0xf3, 0xa5));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_OK);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 2);
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_PF && f.error == X86_PF_WRITE && f.cr2 == HOLE_LA);
    CU_ASSERT_EQUAL(r.gpr[X86_RCX], 2);
    CU_ASSERT_EQUAL(r.gpr[X86_RDI], HOLE_LA);
    CU_ASSERT_EQUAL(r.rip, 0x3000);

    /* A CPL-3 push to a page its rights keep from writes: #PF with P set. */
    env.cpl = 3;
    r = (x86_regs_t){ .gpr = { [X86_RSP] = RO_LA + 0x20 } };
    i = dec(M64, B(0xff, 0x37));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_PF && f.cr2 == RO_LA + 0x18);
    CU_ASSERT_EQUAL(f.error, X86_PF_PRESENT | X86_PF_WRITE | X86_PF_USER);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], RO_LA + 0x20);
    env.cpl = 0;

    /* Outside RAM and devices: a device error, nothing changes. */
    r = (x86_regs_t){ .gpr = { [X86_RSP] = MEM_BYTES + 0x100 } };
    before = r;
    i = dec(M64, B(0xff, 0x37));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_DEVICE_ERROR);
    CU_ASSERT_EQUAL(memcmp(&r, &before, sizeof r), 0);
}

static void test_alignment_check(void)
{
    reset();
    x86_env_t env = flat(M64);
    env.cpl = 3;
    env.cr0_am = true;
    x86_fault_t f;
    /* #AC(0) needs CR0.AM, RFLAGS.AC and CPL 3 and a misaligned access (SDM
     * Vol. 3A 6.15, interrupt 17). A push of 8 bytes to RSP - 8 = 0x...4. */
    x86_regs_t r = { .gpr = { [X86_RSP] = 0x10C }, .rflags = X86_RFLAGS_FIXED | X86_RFLAGS_AC };
    x86_insn_t i = dec(M64, B(0xff, 0x37));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_FAULT);
    CU_ASSERT(f.vector == X86_VEC_AC && f.has_error && f.error == 0);
    CU_ASSERT_EQUAL(r.gpr[X86_RSP], 0x10C);
    env.cpl = 0;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    env.cpl = 3;
    r.rflags &= ~X86_RFLAGS_AC;
    r.gpr[X86_RSP] = 0x10C;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);
    env.cr0_am = false;
    r.rflags |= X86_RFLAGS_AC;
    r.gpr[X86_RSP] = 0x10C;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_OK);

    /* The device operand itself: its gpa has the linear address's page offset. */
    env.cr0_am = true;
    i = dec(M64, B(0x8b, 0x07));                               /* mov eax, [rdi] */
    unsigned reads = w.reads;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA + 2, &f), X86_EMU_FAULT);
    CU_ASSERT_EQUAL(f.vector, X86_VEC_AC);
    CU_ASSERT_EQUAL(w.reads, reads);                           /* the device saw nothing */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA + 4, &f), X86_EMU_OK);
    i = dec(M64, B(0x8a, 0x07));                               /* bytes are always aligned */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA + 3, &f), X86_EMU_OK);
}

static void test_bad_env(void)
{
    x86_env_t env = flat(M64);
    x86_regs_t r = { .rip = 0 };
    x86_fault_t f;
    x86_insn_t i = dec(M64, B(0xa5));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, NULL, 0, &f), X86_EMU_UNSUPPORTED);
    env.mode = (x86_mode_t)9;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_UNSUPPORTED);
    env = flat(M64);
    env.lin = NULL;   /* MOVS, PUSH, POP, CALL need guest-linear memory */
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, 0, &f), X86_EMU_UNSUPPORTED);
    i = dec(M64, B(0xff, 0x17));
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_UNSUPPORTED);
    /* A hostile insn: a register number out of range is refused. */
    i = dec(M64, B(0x0f, 0xc1, 0x07));
    i.reg = 16;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_UNSUPPORTED);
    i = dec(M64, B(0x01, 0x07));                               /* add [rdi], eax */
    i.reg = -1;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_UNSUPPORTED);
    i = dec(M64, B(0x0f, 0xa3, 0x07));                         /* bt [rdi], eax */
    i.reg = 200;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_UNSUPPORTED);
    i.reg = 1;
    i.length = 0;
    CU_ASSERT_EQUAL(x86_emulate(&i, &r, &env, DEV_GPA, &f), X86_EMU_UNSUPPORTED);
    CU_ASSERT_STRING_EQUAL(x86_emu_status_str(X86_EMU_FAULT), "fault");
    CU_ASSERT_STRING_EQUAL(x86_decode_status_str(X86_DECODE_TOO_LONG), "longer than 15 bytes");
}

UNIT_SUITE(x86_emufault_suite)
{
    CU_pSuite s = CU_add_suite("vmm x86 MMIO emulation: modes and exceptions", NULL, NULL);
    CU_add_test(s, "decode shifts, rotates, shld/shrd, lock rules", test_decode_shifts);
    CU_add_test(s, "decode bt*, cmpxchg, xadd", test_decode_bits_exchange);
    CU_add_test(s, "decode lods scas cmps, call/jmp through memory",
                test_decode_strings_branches);
    CU_add_test(s, "decode mul/div, imul, setcc, cmovcc, bit counts, movbe, movnti, cmpxchg8b",
                test_decode_arith_bits);
    CU_add_test(s, "push/pop in 16-bit mode: SP wraps, 66, SS.B", test_push_pop_16);
    CU_add_test(s, "strings with 16/32-bit addresses, bases, REPNE, CX = 0",
                test_strings_16_32);
    CU_add_test(s, "call/jmp in 16/32-bit mode, CS limit", test_branches_16_32);
    CU_add_test(s, "non-canonical: #SS for the stack, #GP else; FS base", test_canonical);
    CU_add_test(s, "segment limits: #GP, #SS, expand-down", test_limits);
    CU_add_test(s, "#PF error code and CR2; device errors", test_page_fault);
    CU_add_test(s, "#AC: CR0.AM, RFLAGS.AC, CPL 3", test_alignment_check);
    CU_add_test(s, "bad environments and instructions", test_bad_env);
}
