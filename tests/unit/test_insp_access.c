/*
 * tests/unit/test_insp_access.c - which bytes an instruction reads and
 * writes (inspector/insn_access.c, through the VMM's decoder), and which
 * EPT watchpoint those accesses hit (ewatch_accesses_hit): what the
 * inspector decides at an instruction's first EPT violation in a watched
 * 2 MiB leaf, where the violation itself may be the fetch's page walk.
 */
#include "unit.h"
#include "../../inspector/ewatch.h"
#include "../../inspector/insn_access.h"
#include <nestor/invocations.h>
#include <x86_vmx.h>
#include <string.h>

/* A byte string literal and its length, as two arguments. */
#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static insn_cpu_t cpu64(void)
{
    insn_cpu_t c;
    memset(&c, 0, sizeof c);
    c.mode = X86_MODE_64;
    c.stack_size = 8;
    c.rip = 0x101000;
    c.gpr[X86_RSP] = 0x1FF000;
    c.gpr[X86_RBP] = 0x1FF040;
    c.gpr[X86_RSI] = 0x300000;
    c.gpr[X86_RDI] = 0x310000;
    c.gpr[X86_RCX] = 3;
    c.seg_base[X86_SEG_FS] = 0x7000000;
    c.seg_base[X86_SEG_DS] = 0x5555;  /* ignored in 64-bit mode (SDM Vol. 3A 3.4.4) */
    return c;
}

static int acc(const uint8_t *code, size_t n, const insn_cpu_t *c, insn_access_t a[2])
{
    memset(a, 0, 2 * sizeof *a);
    return insn_accesses(code, n, c, a);
}

static void test_loads_and_stores(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    /* mov rax, [rip+0x20] (what -O0 code does with a global) */
    CU_ASSERT_EQUAL(acc(B(0x48, 0x8b, 0x05, 0x20, 0x00, 0x00, 0x00), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x101007 + 0x20);
    CU_ASSERT_EQUAL(a[0].len, 8);
    CU_ASSERT(a[0].read && !a[0].write);
    /* mov [rip+0x20], rax */
    CU_ASSERT_EQUAL(acc(B(0x48, 0x89, 0x05, 0x20, 0x00, 0x00, 0x00), &c, a), 1);
    CU_ASSERT(!a[0].read && a[0].write);
    /* add [rbp-8], eax: read and write; add eax, [rbp-8]: read */
    CU_ASSERT_EQUAL(acc(B(0x01, 0x45, 0xf8), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x1FF038);
    CU_ASSERT_EQUAL(a[0].len, 4);
    CU_ASSERT(a[0].read && a[0].write);
    CU_ASSERT_EQUAL(acc(B(0x03, 0x45, 0xf8), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write);
    /* cmp byte [rdi], 1; movzx eax, word [rsi]; setz [rdi]; cmpxchg [rdi], ecx */
    CU_ASSERT_EQUAL(acc(B(0x80, 0x3f, 0x01), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write && a[0].len == 1);
    CU_ASSERT_EQUAL(acc(B(0x0f, 0xb7, 0x06), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write && a[0].len == 2 && a[0].lin == 0x300000);
    CU_ASSERT_EQUAL(acc(B(0x0f, 0x94, 0x07), &c, a), 1);
    CU_ASSERT(!a[0].read && a[0].write && a[0].len == 1);
    CU_ASSERT_EQUAL(acc(B(0x0f, 0xb1, 0x0f), &c, a), 1);
    CU_ASSERT(a[0].read && a[0].write);
    /* fs: mov eax, [0x10]: FS's base counts in 64-bit mode */
    CU_ASSERT_EQUAL(acc(B(0x64, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x7000010);
}

static void test_stack_and_strings(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    /* push qword [rbp-8]: reads it, writes below rSP */
    CU_ASSERT_EQUAL(acc(B(0xff, 0x75, 0xf8), &c, a), 2);
    CU_ASSERT(a[0].read && !a[0].write && a[0].lin == 0x1FF038 && a[0].len == 8);
    CU_ASSERT(!a[1].read && a[1].write && a[1].lin == 0x1FF000 - 8 && a[1].len == 8);
    /* pop qword [rsp+8]: reads at rSP, its destination after the increment */
    CU_ASSERT_EQUAL(acc(B(0x8f, 0x44, 0x24, 0x08), &c, a), 2);
    CU_ASSERT(!a[0].read && a[0].write && a[0].lin == 0x1FF000 + 8 + 8);
    CU_ASSERT(a[1].read && !a[1].write && a[1].lin == 0x1FF000);
    /* call [rax]: its target read, the return address written */
    c.gpr[X86_RAX] = 0x2000;
    CU_ASSERT_EQUAL(acc(B(0xff, 0x10), &c, a), 2);
    CU_ASSERT(a[0].read && a[0].lin == 0x2000 && a[1].write && a[1].lin == 0x1FF000 - 8);
    /* movsb: reads [rsi], writes [rdi]; rep movsd with rcx = 0: nothing */
    CU_ASSERT_EQUAL(acc(B(0xa4), &c, a), 2);
    CU_ASSERT(a[0].read && !a[0].write && a[0].lin == 0x300000 && a[0].len == 1);
    CU_ASSERT(!a[1].read && a[1].write && a[1].lin == 0x310000);
    CU_ASSERT_EQUAL(acc(B(0xf3, 0xa5), &c, a), 2);
    CU_ASSERT_EQUAL(a[0].len, 4);
    c.gpr[X86_RCX] = 0;
    CU_ASSERT_EQUAL(acc(B(0xf3, 0xa5), &c, a), 0);
    /* lodsq reads, stosb writes, scasb and cmpsw read */
    CU_ASSERT_EQUAL(acc(B(0x48, 0xad), &c, a), 1);
    CU_ASSERT(a[0].read && a[0].lin == 0x300000 && a[0].len == 8);
    CU_ASSERT_EQUAL(acc(B(0xaa), &c, a), 1);
    CU_ASSERT(a[0].write && !a[0].read && a[0].lin == 0x310000);
    CU_ASSERT_EQUAL(acc(B(0xae), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write && a[0].lin == 0x310000);
    CU_ASSERT_EQUAL(acc(B(0x66, 0xa7), &c, a), 2);
    CU_ASSERT(a[0].read && a[1].read && !a[1].write && a[0].len == 2);
}

/* BT with a register bit offset addresses outside its operand (SDM Vol. 2A
 * BT): the unit EA + size * (offset SAR log2(bits)). */
static void test_bit_offsets(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    c.gpr[X86_RAX] = (uint64_t)-33;   /* bt [rdi], eax: dword -2 */
    CU_ASSERT_EQUAL(acc(B(0x0f, 0xa3, 0x07), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x310000 - 8);
    CU_ASSERT(a[0].read && !a[0].write);
    c.gpr[X86_RAX] = 64 + 5;          /* bts [rdi], rax: qword +1, written */
    CU_ASSERT_EQUAL(acc(B(0x48, 0x0f, 0xab, 0x07), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x310008);
    CU_ASSERT(a[0].read && a[0].write);
    /* An immediate offset stays in the operand. */
    CU_ASSERT_EQUAL(acc(B(0x0f, 0xba, 0x27, 0x45), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x310000);
}

/* 32-bit and 16-bit code: segment bases count, addresses wrap at 4 GiB,
 * the stack in SS.B's width. */
static void test_legacy_modes(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    c.mode = X86_MODE_32;
    c.stack_size = 4;
    c.seg_base[X86_SEG_DS] = 0x10000;
    c.seg_base[X86_SEG_SS] = 0x20000;
    c.seg_base[X86_SEG_ES] = 0xFFFFF000;
    c.gpr[X86_RBP] = 0x100;
    /* mov eax, [0x1234] (DS) */
    CU_ASSERT_EQUAL(acc(B(0xa1, 0x34, 0x12, 0x00, 0x00), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x11234);
    /* mov [ebp+4], eax (SS) */
    CU_ASSERT_EQUAL(acc(B(0x89, 0x45, 0x04), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x20104);
    /* stosd: ES:EDI, wrapping at 4 GiB */
    c.gpr[X86_RDI] = 0x2000;
    CU_ASSERT_EQUAL(acc(B(0xab), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x1000);
    /* 16-bit: push word [bx+si] reads DS:BX+SI, writes SS:(SP-2) in 16 bits */
    c.mode = X86_MODE_16;
    c.stack_size = 2;
    c.gpr[X86_RBX] = 0x10;
    c.gpr[X86_RSI] = 0x20;
    c.gpr[X86_RSP] = 0x10000;         /* SP = 0: the push wraps to 0xFFFE */
    CU_ASSERT_EQUAL(acc(B(0xff, 0x30), &c, a), 2);
    CU_ASSERT_EQUAL(a[0].lin, 0x10030);
    CU_ASSERT_EQUAL(a[0].len, 2);
    CU_ASSERT_EQUAL(a[1].lin, 0x20000 + 0xFFFE);
}

/* Instructions whose only access is the stack, which the decoder does not
 * take (SDM Vol. 2A-2B PUSH, POP, PUSHF, POPF, CALL, RET, LEAVE). */
static void test_stack_ops(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    /* push rbp; push r12 (41 54); push imm8; pushfq: 8 bytes below rSP */
    CU_ASSERT_EQUAL(acc(B(0x55), &c, a), 1);
    CU_ASSERT(!a[0].read && a[0].write && a[0].lin == 0x1FF000 - 8 && a[0].len == 8);
    CU_ASSERT_EQUAL(acc(B(0x41, 0x54), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].lin, 0x1FF000 - 8);
    CU_ASSERT_EQUAL(acc(B(0x6a, 0x01), &c, a), 1);
    CU_ASSERT_EQUAL(acc(B(0x9c), &c, a), 1);
    CU_ASSERT(a[0].write && a[0].len == 8);
    /* 66 push ax: 2 bytes */
    CU_ASSERT_EQUAL(acc(B(0x66, 0x50), &c, a), 1);
    CU_ASSERT(a[0].lin == 0x1FF000 - 2 && a[0].len == 2);
    /* pop rbx, popfq: read at rSP */
    CU_ASSERT_EQUAL(acc(B(0x5b), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write && a[0].lin == 0x1FF000 && a[0].len == 8);
    CU_ASSERT_EQUAL(acc(B(0x9d), &c, a), 1);
    CU_ASSERT(a[0].read && a[0].lin == 0x1FF000);
    /* call rel32 writes the return address, ret reads it: 8 bytes, 66 or not */
    CU_ASSERT_EQUAL(acc(B(0xe8, 0x00, 0x00, 0x00, 0x00), &c, a), 1);
    CU_ASSERT(a[0].write && !a[0].read && a[0].lin == 0x1FF000 - 8 && a[0].len == 8);
    CU_ASSERT_EQUAL(acc(B(0xc3), &c, a), 1);
    CU_ASSERT(a[0].read && !a[0].write && a[0].lin == 0x1FF000 && a[0].len == 8);
    CU_ASSERT_EQUAL(acc(B(0x66, 0xc3), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].len, 8);
    CU_ASSERT_EQUAL(acc(B(0xc2, 0x10, 0x00), &c, a), 1);
    /* leave: pops rBP from where rBP points */
    CU_ASSERT_EQUAL(acc(B(0xc9), &c, a), 1);
    CU_ASSERT(a[0].read && a[0].lin == 0x1FF040 && a[0].len == 8);
    /* 32-bit code: 4 bytes (2 with 66), SS's base, ESP's width */
    c.mode = X86_MODE_32;
    c.stack_size = 4;
    c.seg_base[X86_SEG_SS] = 0x10000;
    CU_ASSERT_EQUAL(acc(B(0x50), &c, a), 1);
    CU_ASSERT(a[0].lin == 0x10000 + 0x1FF000 - 4 && a[0].len == 4);
    CU_ASSERT_EQUAL(acc(B(0x66, 0x50), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].len, 2);
    CU_ASSERT_EQUAL(acc(B(0xc3), &c, a), 1);
    CU_ASSERT_EQUAL(a[0].len, 4);
    /* 16-bit code: 2 bytes (4 with 66), SP wraps */
    c.mode = X86_MODE_16;
    c.stack_size = 2;
    c.gpr[X86_RSP] = 0x10000;
    CU_ASSERT_EQUAL(acc(B(0x50), &c, a), 1);
    CU_ASSERT(a[0].lin == 0x10000 + 0xFFFE && a[0].len == 2);
    CU_ASSERT_EQUAL(acc(B(0x66, 0x50), &c, a), 1);
    CU_ASSERT(a[0].lin == 0x10000 + 0xFFFC && a[0].len == 4);
}

/* What neither knows is no answer: the caller falls back on the exit's own
 * address. */
static void test_unknown(void)
{
    insn_cpu_t c = cpu64();
    insn_access_t a[2];
    CU_ASSERT_EQUAL(acc(B(0xc8, 0x10, 0x00, 0x00), &c, a), -1);  /* enter */
    CU_ASSERT_EQUAL(acc(B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                          0x66, 0x66, 0x66, 0x66, 0x50), &c, a), -1);  /* 16 bytes */
    CU_ASSERT_EQUAL(acc(B(0x66, 0x66), &c, a), -1);              /* prefixes only */
    CU_ASSERT_EQUAL(acc(B(0x89, 0xc0), &c, a), -1);              /* mov eax, eax */
    CU_ASSERT_EQUAL(acc(B(0x48, 0x8b, 0x05, 0x20), &c, a), -1);  /* truncated */
    CU_ASSERT_EQUAL(insn_accesses(NULL, 0, &c, a), -1);
    CU_ASSERT_EQUAL(insn_accesses(B(0x8b, 0x07), NULL, a), -1);
}

/* ---- which watch the accesses hit ---- */

/* The model guest's paging: linear page 0x400000 at 0x1000, 0x401000 at
 * 0x9000 (not next to it), 0x402000 not mapped; the rest identity. */
static bool xlate(void *ctx, uint64_t lin, uint64_t *gpa)
{
    (void)ctx;
    const uint64_t page = lin & ~0xFFFULL, off = lin & 0xFFF;
    if (page == 0x402000)
        return false;
    *gpa = (page == 0x400000 ? 0x1000 : page == 0x401000 ? 0x9000 : page) + off;
    return true;
}

static insn_access_t A(uint64_t lin, unsigned len, bool r, bool w)
{
    return (insn_access_t){ .lin = lin, .len = len, .read = r, .write = w };
}

static void test_accesses_hit(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    /* A read watch at the end of 0x400000's page and the start of
     * 0x401000's, an access watch, a write watch. */
    const int r = ewatch_add(&s, RSP_BP_READ, 0x400FFC, 8, 0x1FFC, 0x9000);
    const int aw = ewatch_add(&s, RSP_BP_ACCESS, 0x500010, 4, 0x500010, 0);
    const int w = ewatch_add(&s, RSP_BP_WRITE, 0x600000, 1, 0x600000, 0);
    insn_access_t a[2];
    a[0] = A(0x401002, 2, true, false);                 /* its second page */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), r);
    a[0] = A(0x401002, 2, false, true);                 /* a write: not a read watch's */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), -1);
    a[0] = A(0x400FF8, 8, true, false);                 /* begins before it, runs in */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), r);
    a[0] = A(0x400FF4, 8, true, false);                 /* ends right before it */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), -1);
    a[0] = A(0x1FFC, 4, true, false);                   /* its bytes by another linear
                                                           address: watched by what they
                                                           are, as the EPT sees them */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), r);
    a[0] = A(0x400000, 4, true, false);                 /* the same page, other bytes */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), -1);
    a[0] = A(0x400FFC, 4, true, false);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), r);
    /* The access watch on either kind, the write watch on writes only;
     * the second access of an instruction counts too. */
    a[0] = A(0x700000, 8, true, false);
    a[1] = A(0x500013, 1, false, true);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 2, xlate, NULL), aw);
    a[1] = A(0x50000C, 4, true, false);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 2, xlate, NULL), -1);
    a[1] = A(0x5FFFFF, 2, true, false);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 2, xlate, NULL), -1);
    a[1] = A(0x5FFFFF, 2, true, true);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 2, xlate, NULL), w);
    /* An unmapped page is not accessed (the instruction faults there). */
    ewatch_add(&s, RSP_BP_ACCESS, 0x402000, 4, 0x402000, 0);
    a[0] = A(0x402000, 4, true, true);
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 1, xlate, NULL), -1);
    /* Hostile counts: none, or more than an instruction has. */
    CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, a, 0, xlate, NULL), -1);
    CU_ASSERT_EQUAL(ewatch_bytes_hit(&s, 0x500010, 0, true, true), -1);
    CU_ASSERT_EQUAL(ewatch_bytes_hit(&s, ~0ULL - 1, 4, true, true), -1);
}

/* The EPT way has no four-register limit: EWATCH_MAX watches at once, each
 * hit by its own bytes alone, of each kind. */
static void test_many_watches(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    static const enum rsp_bp_type types[3] = { RSP_BP_READ, RSP_BP_WRITE, RSP_BP_ACCESS };
    int idx[EWATCH_MAX];
    for (unsigned i = 0; i < EWATCH_MAX; i++) {
        const uint64_t va = 0x700000 + 16 * i;
        idx[i] = ewatch_add(&s, types[i % 3], va, 8, va, 0);
        CU_ASSERT(idx[i] >= 0);
    }
    CU_ASSERT_EQUAL(ewatch_count(&s), EWATCH_MAX);
    CU_ASSERT_EQUAL(ewatch_add(&s, RSP_BP_READ, 0x800000, 8, 0x800000, 0), -RSP_ENOSPC);
    for (unsigned i = 0; i < EWATCH_MAX; i++) {
        insn_access_t a = A(0x700000 + 16 * i + 4, 4, true, false);
        const bool reads = types[i % 3] != RSP_BP_WRITE;
        CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, &a, 1, xlate, NULL), reads ? idx[i] : -1);
        a = A(0x700000 + 16 * i + 4, 4, false, true);
        const bool writes = types[i % 3] != RSP_BP_READ;
        CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, &a, 1, xlate, NULL), writes ? idx[i] : -1);
        a = A(0x700000 + 16 * i + 8, 8, true, true);     /* the gap after it */
        CU_ASSERT_EQUAL(ewatch_accesses_hit(&s, &a, 1, xlate, NULL), -1);
    }
    /* All in one 2 MiB leaf: it withholds read and write for all of them. */
    CU_ASSERT_EQUAL(ewatch_leaf_withhold(&s, 0x600000, 21), NESTOR_EPT_WITHHOLD_RW);
}

/* With all rights withheld (no execute-only EPT), a fetch from the leaf
 * exits too (qualification bit 2): a silent step, even at a watched byte
 * (executing is no read, SDM 27.2.1 Table 27-7). */
static void test_fetch(void)
{
    ewatch_set_t s;
    memset(&s, 0, sizeof s);
    ewatch_add(&s, RSP_BP_READ, 0x100010, 4, 0x100010, 0);
    ewatch_add(&s, RSP_BP_ACCESS, 0x100020, 4, 0x100020, 0);
    const uint64_t fetch = EPT_QUAL_FETCH | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED;
    int hit = 7;
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x100010, 0x100010, fetch, 21, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x100022, 0x100022, fetch, 21, &hit), EWATCH_STEP);
    CU_ASSERT_EQUAL(hit, -1);
    CU_ASSERT_EQUAL(ewatch_violation(&s, 0x300000, 0x300000, fetch, 21, &hit), EWATCH_NOT_OURS);
}

static void test_is_walk(void)
{
    CU_ASSERT_TRUE(ewatch_is_walk(EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID));
    CU_ASSERT_FALSE(ewatch_is_walk(EPT_QUAL_READ | EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED));
    CU_ASSERT_FALSE(ewatch_is_walk(EPT_QUAL_READ));
}

UNIT_SUITE(insp_access_suite)
{
    CU_pSuite s = CU_add_suite("inspector: what an instruction accesses", NULL, NULL);
    CU_add_test(s, "loads, stores, read-modify-write, FS", test_loads_and_stores);
    CU_add_test(s, "the stack and string instructions", test_stack_and_strings);
    CU_add_test(s, "BT's register bit offset", test_bit_offsets);
    CU_add_test(s, "32- and 16-bit code: segments and wraps", test_legacy_modes);
    CU_add_test(s, "instructions whose only access is the stack", test_stack_ops);
    CU_add_test(s, "what neither knows", test_unknown);
    CU_add_test(s, "which watch the accesses hit", test_accesses_hit);
    CU_add_test(s, "32 watches at once, each by its own bytes", test_many_watches);
    CU_add_test(s, "fetches from a leaf without rights", test_fetch);
    CU_add_test(s, "page walks in the exit qualification", test_is_walk);
}
