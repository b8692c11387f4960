/*
 * tests/unit/test_x86_emudiff.c - differential test of the MMIO emulator
 * (vmm-server/decode/x86_emulate.c) against the host CPU.
 *
 * Each case builds one 64-bit-mode instruction with a RIP-relative memory
 * operand (or a moffs address, or ES:RDI for STOS), random registers, a random
 * memory value and random status flags and DF, then
 *   - runs it natively: the bytes are copied into a stub on an executable page
 *     that loads every GPR but RSP and RFLAGS from a state block, executes the
 *     instruction against a data page, and stores the GPRs and RFLAGS back;
 *   - decodes it with x86_decode() and runs it with x86_emulate_mmio() against
 *     a model device backed by a byte buffer with the same contents;
 * and demands the same memory bytes, the same GPRs (RSP excepted) and the same
 * RFLAGS bits among those the SDM defines for the instruction.
 *
 * NESTOR_EMUDIFF_SEED (a number, 0x... allowed) replaces the fixed seed and
 * NESTOR_EMUDIFF_CASES the number of cases; case I of seed S is the same on
 * every run, and a failure prints the seed, the case and the bytes.
 */
#define _GNU_SOURCE
#include "unit.h"
#include "fuzz_rng.h"
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DIFF_SEED   0x656d7564696666ull   /* "emudiff" */
#define DIFF_CASES  120000u
#define MAX_REPORTS 10

/* RFLAGS status bits (SDM Vol. 1 3.4.3.1) and DF (3.4.3.2). */
#define F_CF 0x001ull
#define F_PF 0x004ull
#define F_AF 0x010ull
#define F_ZF 0x040ull
#define F_SF 0x080ull
#define F_DF 0x400ull
#define F_OF 0x800ull
#define F_STATUS (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_BASE 0x202ull    /* bit 1, IF (user mode cannot change IF) */

/* ---- randomness: xorshift64* (fuzz_rng.h), one stream per case ---- */

static unsigned rnd_below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static void seed_case(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    rng = (z ^ (z >> 31)) | 1;
}

/* Edge values make carries, overflows and zero results likely. */
static uint64_t rnd_value(void)
{
    static const uint64_t edges[] = {
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
        0xFFFFFFFF, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, ~0ull,
    };
    switch (rnd_below(4)) {
    case 0:
        return edges[rnd_below(sizeof edges / sizeof edges[0])] ^ (rnd() & ~0xFFFFFFFFull &
                                                                  -(uint64_t)rnd_below(2));
    case 1:
        return rnd() & 0xF0F;   /* small: AF and zero results */
    default:
        return rnd();
    }
}

/* ---- the native side ---- */

/* What the stub loads before and stores after the instruction. */
typedef struct {
    uint64_t gpr[16];      /* X86_RAX.. order; RSP is neither loaded nor stored */
    uint64_t rflags;
} native_state_t;

#define PAGE      4096u
#define SLOT_LEN  16u      /* the instruction, then NOPs */
#define DATA_OFF  64u      /* on the data page: 64 bytes compared, operand at +24 */
#define DATA_LEN  64u      /* room for REP STOS of 3 elements of 8 bytes either way */
#define OPND_OFF  24u
#define MODEL_GPA 0xFED00000ull   /* the window's guest-physical address */

static uint8_t *code_page;   /* RWX page: stub */
static uint8_t *data_page;   /* RW page: the instruction's memory operand */
static size_t slot_off;      /* where the instruction goes in the stub */

static size_t emit(uint8_t *p, size_t at, const uint8_t *b, size_t n)
{
    memcpy(p + at, b, n);
    return at + n;
}

#define EMIT(...) (at = emit(code_page, at, (const uint8_t[]){ __VA_ARGS__ }, \
                             sizeof((const uint8_t[]){ __VA_ARGS__ })))

/* void stub(native_state_t *s), SysV: s in RDI. */
static void build_stub(void)
{
    size_t at = 0;
    EMIT(0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57);  /* push rbx rbp r12-r15 */
    EMIT(0x57);                                                        /* push rdi (state) */
    EMIT(0xFF, 0xB7, 0x80, 0x00, 0x00, 0x00);                          /* push [rdi+128] */
    EMIT(0x9D);                                                        /* popfq */
    for (unsigned r = 0; r < 16; r++) {
        if (r == X86_RSP || r == X86_RDI)
            continue;
        /* mov r64, [rdi + 8r] */
        EMIT((uint8_t)(0x48 | (r >= 8 ? 0x04 : 0)), 0x8B,
             (uint8_t)(0x40 | ((r & 7) << 3) | 7), (uint8_t)(8 * r));
    }
    EMIT(0x48, 0x8B, 0x7F, 0x38);                                      /* mov rdi, [rdi+56] */
    slot_off = at;
    memset(code_page + at, 0x90, SLOT_LEN);
    at += SLOT_LEN;
    EMIT(0x9C);                                                        /* pushfq */
    EMIT(0xFC);                                                        /* cld (the ABI wants DF=0) */
    EMIT(0x57);                                                        /* push rdi */
    EMIT(0x48, 0x8B, 0x7C, 0x24, 0x10);                                /* mov rdi, [rsp+16] */
    for (unsigned r = 0; r < 16; r++) {
        if (r == X86_RSP || r == X86_RDI)
            continue;
        /* mov [rdi + 8r], r64 */
        EMIT((uint8_t)(0x48 | (r >= 8 ? 0x04 : 0)), 0x89,
             (uint8_t)(0x40 | ((r & 7) << 3) | 7), (uint8_t)(8 * r));
    }
    EMIT(0x8F, 0x47, 0x38);                                            /* pop [rdi+56] */
    EMIT(0x8F, 0x87, 0x80, 0x00, 0x00, 0x00);                          /* pop [rdi+128] */
    EMIT(0x5F);                                                        /* pop rdi */
    EMIT(0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B);  /* pop r15-r12 rbp rbx */
    EMIT(0xC3);                                                        /* ret */
}

/* Two pages below 2 GiB (so that 32-bit addresses reach them): code, data. */
static bool native_setup(void)
{
    if (code_page)
        return true;
    void *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED)
        return false;
    if (mprotect((uint8_t *)p + PAGE, PAGE, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, 2 * PAGE);
        return false;
    }
    code_page = p;
    data_page = code_page + PAGE;
    build_stub();
    return true;
}

typedef void (*stub_fn)(native_state_t *);

static void native_run(const uint8_t *insn, unsigned len, native_state_t *s)
{
    memset(code_page + slot_off, 0x90, SLOT_LEN);
    memcpy(code_page + slot_off, insn, len);
    stub_fn fn;
    void *entry = code_page;
    memcpy(&fn, &entry, sizeof fn);   /* object to function pointer (POSIX) */
    fn(s);
}

/* ---- the model device ---- */

typedef struct {
    uint8_t mem[DATA_LEN];
    unsigned reads, writes;
    bool bad_access;         /* wrong address or size */
    unsigned size;           /* the expected access size */
    bool junk;               /* reads return junk above the access size */
} model_dev_t;

static bool model_ok(model_dev_t *d, uint64_t gpa, unsigned size)
{
    if (gpa < MODEL_GPA || gpa - MODEL_GPA > DATA_LEN - size || size != d->size) {
        d->bad_access = true;
        return false;
    }
    return true;
}

static bool model_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    model_dev_t *d = ctx;
    d->reads++;
    if (!model_ok(d, gpa, size))
        return false;
    uint64_t v = 0;
    memcpy(&v, d->mem + (gpa - MODEL_GPA), size);   /* little-endian host */
    if (d->junk && size < 8)
        v |= 0xA5A5A5A5A5A5A5A5ull << (8 * size);
    *value = v;
    return true;
}

static bool model_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    model_dev_t *d = ctx;
    d->writes++;
    if (!model_ok(d, gpa, size))
        return false;
    memcpy(d->mem + (gpa - MODEL_GPA), &value, size);
    return true;
}

/* ---- instruction generation ---- */

typedef enum {
    K_MOV_STORE, K_MOV_LOAD, K_MOV_IMM, K_MOFFS_LOAD, K_MOFFS_STORE, K_MOVZX, K_MOVSX,
    K_MOVSXD, K_ALU_MR, K_ALU_RM, K_ALU_IMM, K_TEST_MR, K_TEST_IMM, K_XCHG, K_STOS,
    K_UNARY, K_COUNT
} kind_t;

static const char *const kind_names[K_COUNT] = {
    "mov m,r (88/89)", "mov r,m (8a/8b)", "mov m,imm (c6/c7)", "mov acc,moffs (a0/a1)",
    "mov moffs,acc (a2/a3)", "movzx (0f b6/b7)", "movsx (0f be/bf)", "movsxd (63)",
    "alu m,r (00-39)", "alu r,m (02-3b)", "alu m,imm (80/81/83)", "test m,r (84/85)",
    "test m,imm (f6/f7 /0 /1)", "xchg m,r (86/87)", "stos (aa/ab)",
    "inc dec not neg (fe/ff /0 /1, f6/f7 /2 /3)",
};

/* ALU groups in opcode order (SDM Vol. 2A Table A-2): ADD OR ADC SBB AND SUB XOR CMP. */
#define ALU_GROUPS 8u
#define ALU_CMP    7u
#define ALU_IS_LOGIC(a) ((a) == 1 || (a) == 4 || (a) == 6)   /* OR AND XOR */

/* K_UNARY forms: ModRM.reg of group 4/5 (FE/FF) and group 3 (F6/F7), Table A-6. */
enum { U_INC, U_DEC, U_NOT, U_NEG, U_COUNT };

typedef struct {
    uint8_t b[X86_MAX_INSN_LEN];
    unsigned len;
    kind_t kind;
    unsigned alu;            /* ALU group for K_ALU_*, U_* for K_UNARY */
    bool has_reg;            /* ModRM.reg names a register ... */
    unsigned reg;            /* ... this one (0..15; 4..7 of a byte op without REX: AH..BH) */
    bool reg_high;           /* reg is AH CH DH BH */
    uint64_t flag_mask;      /* RFLAGS bits the SDM defines after the instruction */
    bool uses_rdi_rcx;       /* STOS: RDI must address the data page */
    bool addr32;             /* STOS with 67 */
    bool rep;
} gen_t;

static void put(gen_t *g, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        g->b[g->len++] = (uint8_t)(v >> (8 * i));
}

/* A register number for ModRM.reg: never RSP/SPL (the stub owns RSP). */
static unsigned pick_reg(bool byte_op, bool *rex_needed)
{
    for (;;) {
        unsigned r = rnd_below(16);
        bool rex = r >= 8 || (byte_op && rnd_below(2));
        if (r == X86_RSP && (!byte_op || rex))
            continue;   /* RSP, ESP, SP or SPL */
        *rex_needed = rex;
        return r;
    }
}

/* Flags after AND/OR/XOR/TEST: OF and CF cleared, SF ZF PF by result, AF
 * undefined (SDM Vol. 2A "AND", Vol. 2B "OR", "XOR", "TEST": Flags Affected). */
#define MASK_LOGIC (F_STATUS & ~F_AF)
/* ADD SUB CMP set all six by result (SDM Vol. 2A "ADD", "CMP", Vol. 2B "SUB"). */
#define MASK_ARITH F_STATUS
/* MOV MOVZX MOVSX MOVSXD XCHG STOS: "Flags Affected: None" (SDM Vol. 2A/2B
 * "MOV", "MOVZX", "MOVSX/MOVSXD", "XCHG", "STOS"): all must be unchanged. */
#define MASK_NONE F_STATUS
/* ADC SBB set all six by result (SDM Vol. 2A "ADC", Vol. 2B "SBB"); INC DEC set
 * OF SF ZF AF PF and leave CF, which must then match the unchanged input
 * (Vol. 2A "INC", "DEC"); NEG sets all six, CF = (operand != 0) (Vol. 2B
 * "NEG"); NOT affects none (Vol. 2B "NOT"). All six are compared for each. */

/* An instruction that the edge sweep (test_emudiff_edges) asks for instead of
 * a random one: its kind, ALU group or U_*, and operand size. */
typedef struct {
    kind_t kind;
    unsigned op;
    unsigned size;
} want_t;

/* Build one instruction (a random one, or of the form `want` names); the
 * RIP-relative disp32 is patched once the length is known. */
static void generate(gen_t *g, const want_t *want)
{
    memset(g, 0, sizeof *g);
    g->kind = want ? want->kind : (kind_t)rnd_below(K_COUNT);
    /* Operand size: 1 (byte opcode), 2 (66), 4, 8 (REX.W). */
    unsigned size = want ? want->size : 1u << rnd_below(4);
    unsigned opcode = 0, digit = 0, imm_len = 0, reg = 0;
    bool byte_op = false, has_reg = true, lock = false, rex = false, two_byte = false;
    bool moffs = false;
    uint64_t imm = rnd_value();

    switch (g->kind) {
    case K_MOV_STORE: case K_MOV_LOAD: case K_XCHG: case K_TEST_MR:
        byte_op = size == 1;
        opcode = g->kind == K_MOV_STORE ? 0x88 : g->kind == K_MOV_LOAD ? 0x8A
               : g->kind == K_XCHG ? 0x86 : 0x84;
        opcode += !byte_op;
        lock = g->kind == K_XCHG && rnd_below(4) == 0;
        g->flag_mask = g->kind == K_TEST_MR ? MASK_LOGIC : MASK_NONE;
        break;
    case K_MOV_IMM:
        byte_op = size == 1;
        opcode = byte_op ? 0xC6 : 0xC7;
        has_reg = false;
        imm_len = size == 1 ? 1 : size == 2 ? 2 : 4;
        g->flag_mask = MASK_NONE;
        break;
    case K_MOFFS_LOAD: case K_MOFFS_STORE:
        byte_op = size == 1;
        opcode = (g->kind == K_MOFFS_LOAD ? 0xA0 : 0xA2) + !byte_op;
        has_reg = false;
        moffs = true;
        g->flag_mask = MASK_NONE;
        break;
    case K_MOVZX: case K_MOVSX:
        two_byte = true;
        if (size == 1)
            size = 4;                 /* destination size: 2, 4 or 8 */
        opcode = (g->kind == K_MOVZX ? 0xB6 : 0xBE) + rnd_below(2);
        g->flag_mask = MASK_NONE;
        break;
    case K_MOVSXD:
        if (size == 1)
            size = 8;
        opcode = 0x63;
        g->flag_mask = MASK_NONE;
        break;
    case K_ALU_MR: case K_ALU_RM:
        g->alu = want ? want->op : rnd_below(ALU_GROUPS);
        byte_op = size == 1;
        opcode = g->alu * 8 + (g->kind == K_ALU_RM ? 2 : 0) + !byte_op;
        lock = g->kind == K_ALU_MR && g->alu != ALU_CMP && rnd_below(4) == 0;
        g->flag_mask = ALU_IS_LOGIC(g->alu) ? MASK_LOGIC : MASK_ARITH;
        break;
    case K_ALU_IMM:
        g->alu = want ? want->op : rnd_below(ALU_GROUPS);
        byte_op = size == 1;
        has_reg = false;
        digit = g->alu;
        if (byte_op) {
            opcode = 0x80;
            imm_len = 1;
        } else if (rnd_below(2)) {
            opcode = 0x83;
            imm_len = 1;
        } else {
            opcode = 0x81;
            imm_len = size == 2 ? 2 : 4;
        }
        lock = g->alu != ALU_CMP && rnd_below(4) == 0;
        g->flag_mask = ALU_IS_LOGIC(g->alu) ? MASK_LOGIC : MASK_ARITH;
        break;
    case K_UNARY:
        g->alu = want ? want->op : rnd_below(U_COUNT);
        byte_op = size == 1;
        has_reg = false;
        digit = g->alu == U_INC ? 0 : g->alu == U_DEC ? 1 : g->alu == U_NOT ? 2 : 3;
        opcode = (g->alu == U_INC || g->alu == U_DEC ? 0xFE : 0xF6) + !byte_op;
        lock = rnd_below(4) == 0;
        g->flag_mask = F_STATUS;   /* INC/DEC: CF unchanged; NOT: all unchanged */
        break;
    case K_TEST_IMM:
        byte_op = size == 1;
        opcode = byte_op ? 0xF6 : 0xF7;
        has_reg = false;
        digit = rnd_below(2);         /* /1 is an alias of /0 */
        imm_len = size == 1 ? 1 : size == 2 ? 2 : 4;
        g->flag_mask = MASK_LOGIC;
        break;
    default: /* K_STOS */
        byte_op = size == 1;
        opcode = byte_op ? 0xAA : 0xAB;
        has_reg = false;
        g->uses_rdi_rcx = true;
        g->rep = rnd_below(2);
        g->addr32 = rnd_below(2);
        g->flag_mask = MASK_NONE;
        break;
    }

    if (has_reg) {
        reg = pick_reg(byte_op, &rex);
        g->has_reg = true;
        g->reg = reg;
    }
    if (!byte_op && size == 8)
        rex = true;
    /* A redundant REX, except where it would turn AH into SPL (the stub owns RSP). */
    if (rnd_below(8) == 0 && !(byte_op && has_reg && reg == X86_RSP))
        rex = true;
    g->reg_high = byte_op && has_reg && !rex && reg >= 4;

    /* Prefixes: LOCK, REP, 66, 67 in any order, then REX. */
    if (lock)
        g->b[g->len++] = 0xF0;
    if (g->rep)
        g->b[g->len++] = 0xF3;
    if (!byte_op && size == 2)
        g->b[g->len++] = 0x66;
    else if (!byte_op && size == 8 && rnd_below(8) == 0)
        g->b[g->len++] = 0x66;        /* REX.W wins over 66 */
    if (g->addr32)
        g->b[g->len++] = 0x67;
    if (rnd_below(8) == 0)   /* ES CS SS DS: no override in 64-bit mode (SDM Vol. 1 3.4.2.1) */
        g->b[g->len++] = (uint8_t)(0x26 + 8 * rnd_below(4));
    if (rex)
        g->b[g->len++] = (uint8_t)(0x40 | (size == 8 && !byte_op ? 0x08 : 0) |
                                   (reg >= 8 ? 0x04 : 0) | (uint8_t)rnd_below(4));  /* X, B: unused */
    if (two_byte)
        g->b[g->len++] = 0x0F;
    g->b[g->len++] = (uint8_t)opcode;

    size_t disp_at = 0;
    if (moffs) {
        put(g, (uint64_t)(uintptr_t)(data_page + DATA_OFF + OPND_OFF), 8);
    } else if (!g->uses_rdi_rcx) {
        unsigned field = has_reg ? (reg & 7) : digit;
        g->b[g->len++] = (uint8_t)((field << 3) | 5);   /* mod 00, rm 101: [rip+disp32] */
        disp_at = g->len;
        put(g, 0, 4);
    }
    if (imm_len)
        put(g, imm, imm_len);
    if (disp_at) {
        /* RIP-relative: from the end of the instruction in the stub's slot. */
        uint64_t next = (uint64_t)(uintptr_t)(code_page + slot_off + g->len);
        uint64_t target = (uint64_t)(uintptr_t)(data_page + DATA_OFF + OPND_OFF);
        for (unsigned i = 0; i < 4; i++)
            g->b[disp_at + i] = (uint8_t)((target - next) >> (8 * i));
    }
}

/* ---- one case ---- */

typedef struct {
    uint64_t seed;
    unsigned long cases, failures, per_kind[K_COUNT];
} run_t;

static void hex(char *out, size_t n, const uint8_t *b, unsigned len)
{
    size_t at = 0;
    for (unsigned i = 0; i < len && at + 4 < n; i++)
        at += (size_t)snprintf(out + at, n - at, "%02x ", b[i]);
    if (at)
        out[at - 1] = 0;
    else
        out[0] = 0;
}

static void report(run_t *run, uint64_t i, const gen_t *g, const char *what)
{
    run->failures++;
    if (run->failures > MAX_REPORTS)
        return;
    char h[64];
    hex(h, sizeof h, g->b, g->len);
    printf("\n  emudiff: seed 0x%llx case %llu [%s] %s: %s",
           (unsigned long long)run->seed, (unsigned long long)i, h, kind_names[g->kind], what);
}

/* An edge case of test_emudiff_edges: the memory operand, the register operand
 * (for the m,r form) and CF in; everything else stays random. */
typedef struct {
    uint64_t mem, reg;
    bool cf;
} edge_t;

static void one_case(run_t *run, uint64_t i, const want_t *want, const edge_t *edge)
{
    gen_t g;
    seed_case(run->seed, i);
    generate(&g, want);

    native_state_t ns;
    x86_regs_t er;
    for (unsigned r = 0; r < 16; r++)
        ns.gpr[r] = rnd_value();
    ns.gpr[X86_RSP] = 0;
    uint64_t opnd_addr = (uint64_t)(uintptr_t)(data_page + DATA_OFF + OPND_OFF);
    if (g.uses_rdi_rcx) {
        /* 67: EDI addresses; the upper half of RDI is junk the CPU ignores. */
        ns.gpr[X86_RDI] = g.addr32 ? (opnd_addr | (rnd() << 32)) : opnd_addr;
        if (g.rep)   /* 0..3 elements; with 67 the upper half of RCX is junk too */
            ns.gpr[X86_RCX] = (rnd() & ~0xFFFFFFFFull & -(uint64_t)g.addr32) | rnd_below(4);
    }
    ns.rflags = F_BASE | (rnd() & (F_STATUS | F_DF));
    if (edge) {
        ns.rflags = (ns.rflags & ~F_CF) | (edge->cf ? F_CF : 0);
        if (g.has_reg && g.reg_high)   /* AH..BH: bits 15:8 of rax..rbx */
            ns.gpr[g.reg - 4] = (ns.gpr[g.reg - 4] & ~0xFF00ull) | ((edge->reg & 0xFF) << 8);
        else if (g.has_reg)            /* the low bits; the rest stays random */
            ns.gpr[g.reg] = edge->reg;
    }
    memcpy(er.gpr, ns.gpr, sizeof er.gpr);
    er.rflags = ns.rflags;

    model_dev_t dev = { .junk = rnd_below(2) != 0 };
    for (unsigned b = 0; b < DATA_LEN; b += 8) {
        uint64_t v = rnd_value();
        memcpy(dev.mem + b, &v, 8);
    }
    if (edge)
        memcpy(dev.mem + OPND_OFF, &edge->mem, 8);   /* the low bytes are the operand */
    memcpy(data_page + DATA_OFF, dev.mem, DATA_LEN);

    x86_insn_t insn;
    x86_decode_status_t st = x86_decode(g.b, g.len, X86_MODE_64, &insn);
    if (st != X86_DECODE_OK || insn.length != g.len) {
        report(run, i, &g, "decode failed or wrong length");
        return;
    }
    dev.size = insn.mem_size;
    x86_emu_status_t es;
    if (g.uses_rdi_rcx) {
        /* STOS: one element per call at the address RDI (EDI with 67) names,
         * again while x86_emulate_rep_pending(), as the VMM re-executes it. */
        unsigned calls = 0;
        do {
            uint64_t rdi = g.addr32 ? (uint32_t)er.gpr[X86_RDI] : er.gpr[X86_RDI];
            uint64_t gpa = MODEL_GPA + (rdi - (opnd_addr - OPND_OFF));
            es = x86_emulate_mmio(&insn, &er, gpa, model_read, model_write, &dev);
        } while (es == X86_EMU_OK && x86_emulate_rep_pending(&insn, &er) && ++calls < 8);
    } else {
        es = x86_emulate_mmio(&insn, &er, MODEL_GPA + OPND_OFF, model_read, model_write, &dev);
    }
    native_run(g.b, g.len, &ns);
    run->cases++;
    run->per_kind[g.kind]++;

    char what[512];
    size_t at = 0;
    if (es != X86_EMU_OK || dev.bad_access)
        at += (size_t)snprintf(what + at, sizeof what - at, "emulation %s%s; ",
                               x86_emu_status_str(es), dev.bad_access ? ", bad access" : "");
    if (memcmp(dev.mem, data_page + DATA_OFF, DATA_LEN) != 0) {
        unsigned off = 0;
        while (dev.mem[off] == data_page[DATA_OFF + off])
            off++;
        off &= ~7u;
        uint64_t nv, ev;
        memcpy(&nv, data_page + DATA_OFF + off, 8);
        memcpy(&ev, dev.mem + off, 8);
        at += (size_t)snprintf(what + at, sizeof what - at,
                               "memory at operand%+d native %016llx emulated %016llx; ",
                               (int)off - (int)OPND_OFF, (unsigned long long)nv,
                               (unsigned long long)ev);
    }
    for (unsigned r = 0; r < 16 && at < sizeof what - 80; r++) {
        if (r == X86_RSP || ns.gpr[r] == er.gpr[r])
            continue;
        at += (size_t)snprintf(what + at, sizeof what - at, "gpr%u native %016llx emulated %016llx; ",
                               r, (unsigned long long)ns.gpr[r], (unsigned long long)er.gpr[r]);
    }
    uint64_t mask = g.flag_mask | F_DF;
    if (((ns.rflags ^ er.rflags) & mask) && at < sizeof what - 80)
        at += (size_t)snprintf(what + at, sizeof what - at,
                               "rflags native %03llx emulated %03llx (compared %03llx); ",
                               (unsigned long long)(ns.rflags & mask),
                               (unsigned long long)(er.rflags & mask), (unsigned long long)mask);
    if (at)
        report(run, i, &g, what);
}

static uint64_t env_number(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 0);
    return *end ? dflt : (uint64_t)n;
}

static void test_emudiff_random(void)
{
#if !defined(__x86_64__)
    printf("\n  emudiff: not an x86-64 host, skipped\n  ");
    return;
#endif
    if (!native_setup())
        printf("\n  emudiff: no RWX page below 2 GiB: %s\n  ", strerror(errno));
    CU_ASSERT_PTR_NOT_NULL_FATAL(code_page);
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) };
    uint64_t cases = env_number("NESTOR_EMUDIFF_CASES", DIFF_CASES);
    for (uint64_t i = 0; i < cases; i++)
        one_case(&run, i, NULL, NULL);
    if (run.failures)
        printf("\n  emudiff: %lu of %lu cases differ (seed 0x%llx)", run.failures, run.cases,
               (unsigned long long)run.seed);
    printf("\n  emudiff: %lu cases, seed 0x%llx, per form:", run.cases,
           (unsigned long long)run.seed);
    for (unsigned k = 0; k < K_COUNT; k++) {
        printf("%s %s %lu", k ? "," : "", kind_names[k], run.per_kind[k]);
        CU_ASSERT_TRUE(cases < 10 * K_COUNT || run.per_kind[k] > 0);
    }
    printf("\n  ");
    CU_ASSERT_EQUAL(run.cases, cases);
    CU_ASSERT_EQUAL(run.failures, 0);
}

/* Edge values for each operand size: 0, 1, the sign boundary (max positive,
 * min negative), all ones, and a value with ones above the operand size
 * (which must not leak into the result). */
static unsigned edge_values(unsigned size, uint64_t *v)
{
    uint64_t m = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    uint64_t sign = 1ull << (8 * size - 1);
    unsigned n = 0;
    v[n++] = 0;
    v[n++] = 1;
    v[n++] = sign - 1;
    v[n++] = sign;
    v[n++] = sign + 1;
    v[n++] = m - 1;
    v[n++] = m;
    v[n++] = 0x0F & m;           /* AF: carry/borrow at bit 3 */
    v[n++] = 0x10 & m;
    v[n++] = ~m | 0x7E;          /* junk above the size */
    return n;
}

/* Every pair of edge values, with CF in 0 and 1, for ADC SBB ADD SUB CMP (m,r
 * and r,m) and INC DEC NOT NEG, at every operand size, native and emulated. */
static void test_emudiff_edges(void)
{
#if !defined(__x86_64__)
    printf("\n  emudiff: not an x86-64 host, skipped\n  ");
    return;
#endif
    if (!native_setup())
        printf("\n  emudiff: no RWX page below 2 GiB: %s\n  ", strerror(errno));
    CU_ASSERT_PTR_NOT_NULL_FATAL(code_page);
    static const unsigned arith[] = { 2, 3, 0, 5, 7 };   /* ADC SBB ADD SUB CMP */
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) ^ 0xED6E };
    uint64_t i = 0, v[16];
    for (unsigned size = 1; size <= 8; size *= 2) {
        unsigned n = edge_values(size, v);
        for (unsigned a = 0; a < n; a++) {
            for (unsigned cf = 0; cf < 2; cf++) {
                for (unsigned u = 0; u < U_COUNT; u++) {
                    want_t w = { K_UNARY, u, size };
                    edge_t e = { v[a], 0, cf };
                    one_case(&run, i++, &w, &e);
                }
                for (unsigned b = 0; b < n; b++) {
                    for (unsigned k = 0; k < sizeof arith / sizeof arith[0]; k++) {
                        edge_t e = { v[a], v[b], cf };
                        want_t w = { K_ALU_MR, arith[k], size };
                        one_case(&run, i++, &w, &e);
                        w.kind = K_ALU_RM;
                        one_case(&run, i++, &w, &e);
                    }
                }
            }
        }
    }
    if (run.failures)
        printf("\n  emudiff: %lu of %lu edge cases differ", run.failures, run.cases);
    printf("\n  emudiff: %lu edge cases\n  ", run.cases);
    CU_ASSERT_EQUAL(run.cases, i);
    CU_ASSERT_EQUAL(run.failures, 0);
}

UNIT_SUITE(x86_emudiff_suite)
{
    CU_pSuite s = CU_add_suite("vmm x86 MMIO emulation vs the host CPU", NULL, NULL);
    CU_add_test(s, "120000 random instructions, native and emulated", test_emudiff_random);
    CU_add_test(s, "edge values and CF in: adc sbb add sub cmp inc dec not neg",
                test_emudiff_edges);
}
