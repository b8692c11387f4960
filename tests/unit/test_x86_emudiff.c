/*
 * tests/unit/test_x86_emudiff.c - differential test of the MMIO emulator
 * (vmm-server/decode/x86_emulate.c) against the host CPU.
 *
 * Each case builds one 64-bit-mode instruction with a RIP-relative memory
 * operand (or a moffs address, or rSI/rDI for the string instructions, or
 * the stack), random registers, random memory and random status flags and
 * DF, then
 *   - runs it natively: the bytes are copied into a stub on an executable page
 *     that loads every GPR (RSP too) and RFLAGS from a state block, executes
 *     the instruction against a data page, and stores the GPRs and RFLAGS back;
 *   - decodes it with x86_decode() and runs it with x86_emulate() against a
 *     model device (the data page's first 64 bytes) and a model of guest
 *     RAM (the next 64) reached through the emulator's guest-linear callback;
 * and demands the same memory bytes, the same GPRs, the same RIP (the next
 * instruction or the branch target) and the same RFLAGS bits among those the
 * SDM defines for the instruction with its operands.
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
#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>

#define DIFF_SEED   0x656d7564696666ull   /* "emudiff" */
#define DIFF_CASES  150000u
#define MAX_REPORTS 10

/* RFLAGS bits (x86_arch.h: SDM Vol. 1 3.4.3). */
#define F_CF X86_RFLAGS_CF
#define F_PF X86_RFLAGS_PF
#define F_AF X86_RFLAGS_AF
#define F_ZF X86_RFLAGS_ZF
#define F_SF X86_RFLAGS_SF
#define F_DF X86_RFLAGS_DF
#define F_OF X86_RFLAGS_OF
#define F_AC X86_RFLAGS_AC
#define F_AC X86_RFLAGS_AC
#define F_STATUS X86_RFLAGS_STATUS
#define F_BASE (X86_RFLAGS_FIXED | X86_RFLAGS_IF_BIT)   /* user mode cannot change IF */

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
    uint64_t gpr[16];      /* X86_RAX.. order */
    uint64_t rflags;
} native_state_t;

#define PAGE      4096u
#define SLOT_LEN  32u      /* the instruction, then NOPs (a landing strip for CALL/JMP) */
#define HOST_RSP  0u       /* data page: the stub's RSP while the instruction runs */
#define TEST_RSP  8u       /* data page: the instruction's RSP after it */
#define DATA_OFF  64u      /* data page: the device window, then the RAM window */
#define DEV_LEN   64u      /* the device window: operand at +24; strings, BT around it */
#define RAM_LEN   64u      /* guest RAM: stacks and the other side of MOVS/CMPS */
#define DATA_LEN  (DEV_LEN + RAM_LEN)
#define OPND_OFF  24u      /* (+0..7 when the alignment-check test misaligns it) */
#define STR_MIN   16u      /* string and stack pointers start at window offsets */
#define STR_MAX   40u      /* 16..40: three 8-byte elements fit either way */
#define MODEL_GPA 0xFED00000ull   /* the device window's guest-physical address */

/* Forms the host CPU may lack (CPUID): BSF and BSR always run; without
 * BMI1/LZCNT, F3 0F BC/BD would run as BSF/BSR. */
enum { HOST_BSF, HOST_BSR, HOST_TZCNT, HOST_LZCNT, HOST_POPCNT, HOST_MOVBE, HOST_FEATURES };
static bool host_has[HOST_FEATURES];

static uint8_t *code_page;   /* RWX page: stub */
static uint8_t *data_page;   /* RW page: the instruction's memory operands */
static size_t slot_off;      /* where the instruction goes in the stub */

static size_t emit(uint8_t *p, size_t at, const uint8_t *b, size_t n)
{
    memcpy(p + at, b, n);
    return at + n;
}

#define EMIT(...) (at = emit(code_page, at, (const uint8_t[]){ __VA_ARGS__ }, \
                             sizeof((const uint8_t[]){ __VA_ARGS__ })))

/* REX.W opcode modrm(mod 00, rm 101) disp32: reg <-> [rip + disp] at `target`. */
static size_t emit_riprel(size_t at, uint8_t opcode, unsigned reg, const void *target)
{
    EMIT(0x48, opcode, (uint8_t)(((reg & 7) << 3) | 5));
    int64_t disp = (int64_t)(uintptr_t)target - (int64_t)(uintptr_t)(code_page + at + 4);
    for (unsigned i = 0; i < 4; i++)
        code_page[at + i] = (uint8_t)((uint64_t)disp >> (8 * i));
    return at + 4;
}

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
    at = emit_riprel(at, 0x89, X86_RSP, data_page + HOST_RSP);         /* mov [host], rsp */
    EMIT(0x48, 0x8B, 0x67, 0x20);                                      /* mov rsp, [rdi+32] */
    EMIT(0x48, 0x8B, 0x7F, 0x38);                                      /* mov rdi, [rdi+56] */
    slot_off = at;
    memset(code_page + at, 0x90, SLOT_LEN);
    at += SLOT_LEN;
    at = emit_riprel(at, 0x89, X86_RSP, data_page + TEST_RSP);         /* mov [test], rsp */
    at = emit_riprel(at, 0x8B, X86_RSP, data_page + HOST_RSP);         /* mov rsp, [host] */
    EMIT(0x9C);                                                        /* pushfq */
    EMIT(0xFC);                                                        /* cld (the ABI wants DF=0) */
    EMIT(0x9C, 0x48, 0x81, 0x24, 0x24, 0xFF, 0xFF, 0xFB, 0xFF, 0x9D);  /* clear AC (C code is
                                                                          not aligned for it) */
    EMIT(0x57);                                                        /* push rdi */
    EMIT(0x48, 0x8B, 0x7C, 0x24, 0x10);                                /* mov rdi, [rsp+16] */
    for (unsigned r = 0; r < 16; r++) {
        if (r == X86_RSP || r == X86_RDI)
            continue;
        /* mov [rdi + 8r], r64 */
        EMIT((uint8_t)(0x48 | (r >= 8 ? 0x04 : 0)), 0x89,
             (uint8_t)(0x40 | ((r & 7) << 3) | 7), (uint8_t)(8 * r));
    }
    at = emit_riprel(at, 0x8B, X86_RAX, data_page + TEST_RSP);         /* mov rax, [test] */
    EMIT(0x48, 0x89, 0x47, 0x20);                                      /* mov [rdi+32], rax */
    EMIT(0x8F, 0x47, 0x38);                                            /* pop [rdi+56] */
    EMIT(0x8F, 0x87, 0x80, 0x00, 0x00, 0x00);                          /* pop [rdi+128] */
    EMIT(0x5F);                                                        /* pop rdi */
    EMIT(0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B);  /* pop r15-r12 rbp rbx */
    EMIT(0xC3);                                                        /* ret */
}

static bool catch_faults(void);

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
    if (!catch_faults())
        return false;
    /* CPUID.1:ECX[22] MOVBE, [23] POPCNT; CPUID.(7,0):EBX[3] BMI1 (TZCNT);
     * CPUID.80000001H:ECX[5] LZCNT (SDM Vol. 2A CPUID). */
    unsigned a, b, c, d;
    host_has[HOST_BSF] = host_has[HOST_BSR] = true;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        host_has[HOST_MOVBE] = (c >> 22) & 1;
        host_has[HOST_POPCNT] = (c >> 23) & 1;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        host_has[HOST_TZCNT] = (b >> 3) & 1;
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d))
        host_has[HOST_LZCNT] = (c >> 5) & 1;
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

/* ---- faults on the native side ---- */

static sigjmp_buf fault_jump;
static volatile sig_atomic_t fault_armed, fault_sig;

/* SIGBUS from an alignment check (#AC) or SIGFPE from a divide error (#DE)
 * (or SIGILL, #UD, which no generated instruction should raise) while the
 * stub runs: clear RFLAGS.AC (the C code after the jump may do
 * misaligned accesses) and abandon the stub. The jump restores the
 * callee-saved registers and RSP; the kernel cleared DF. Anything else is
 * fatal as usual. */
__attribute__((no_sanitize_address)) static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    __asm__ volatile("pushfq; andq %0, (%%rsp); popfq" : : "i"(~(long)F_AC) : "cc", "memory");
    bool ours = (sig == SIGBUS && si->si_code == BUS_ADRALN) ||
                (sig == SIGFPE && (si->si_code == FPE_INTDIV || si->si_code == FPE_INTOVF)) ||
                sig == SIGILL;   /* #UD: never right here, reported with the case */
    if (!fault_armed || !ours) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fault_sig = sig;
    siglongjmp(fault_jump, 1);
}

/* Catch them from now on, on a stack of their own (the instruction's RSP is
 * the case's). SA_NODEFER: the jump leaves the handler, the mask stays. */
static bool catch_faults(void)
{
    static uint8_t alt_stack[1u << 16];
    stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof alt_stack };
    struct sigaction sa = { .sa_sigaction = on_fault,
                            .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
    sigemptyset(&sa.sa_mask);
    return sigaltstack(&ss, NULL) == 0 && sigaction(SIGBUS, &sa, NULL) == 0 &&
           sigaction(SIGFPE, &sa, NULL) == 0 && sigaction(SIGILL, &sa, NULL) == 0;
}

/* native_run; the signal of a fault the instruction raised, or 0. */
__attribute__((noinline)) static int native_run_catch(const uint8_t *insn, unsigned len,
                                                      native_state_t *s)
{
    if (sigsetjmp(fault_jump, 0) != 0) {
        fault_armed = 0;
        return fault_sig;
    }
    fault_armed = 1;
    native_run(insn, len, s);
    fault_armed = 0;
    return 0;
}

static uint64_t window_la(void)
{
    return (uint64_t)(uintptr_t)(data_page + DATA_OFF);
}

/* ---- the model device and guest RAM ---- */

typedef struct {
    uint8_t mem[DATA_LEN];   /* device window, then RAM window */
    unsigned reads, writes;
    bool bad_access;         /* wrong address or size */
    unsigned size;           /* the expected access size */
    bool junk;               /* reads return junk above the access size */
} model_dev_t;

static bool model_ok(model_dev_t *d, uint64_t gpa, unsigned size)
{
    if (gpa < MODEL_GPA || gpa - MODEL_GPA > DEV_LEN - size || size != d->size) {
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

/* Guest-linear memory: the device window goes to the device (as the VMM's
 * callback finds the device page), the RAM window to RAM; anything else is
 * unmapped (and a test failure: the native side touched only the windows). */
static x86_lin_status_t model_lin(void *ctx, uint64_t la, unsigned size, bool write,
                                  uint64_t *value, uint64_t *fault_la)
{
    model_dev_t *d = ctx;
    uint64_t w = window_la();
    if (la >= w && la + size <= w + DEV_LEN) {
        bool ok = write ? model_write(d, MODEL_GPA + (la - w), size, *value)
                        : model_read(d, MODEL_GPA + (la - w), size, value);
        return ok ? X86_LIN_OK : X86_LIN_ERROR;
    }
    if (la >= w + DEV_LEN && la + size <= w + DATA_LEN) {
        if (write)
            memcpy(d->mem + (la - w), value, size);
        else
            memcpy(value, d->mem + (la - w), size);
        return X86_LIN_OK;
    }
    d->bad_access = true;
    *fault_la = la;
    return X86_LIN_UNMAPPED;
}

/* The host runs the native side at CPL 3 in 64-bit mode with flat segments
 * (Linux sets CR0.AM; RFLAGS.AC stays clear here, so no #AC). */
static void host_env(x86_env_t *env, model_dev_t *dev)
{
    memset(env, 0, sizeof *env);
    env->mode = X86_MODE_64;
    env->cpl = 3;
    env->cr0_am = true;
    env->stack_addr_size = 8;
    for (unsigned i = 0; i < 6; i++)
        env->seg[i].hi = ~0ull;
    env->cs_limit = ~0ull;
    env->rd = model_read;
    env->wr = model_write;
    env->dev = dev;
    env->lin = model_lin;
    env->lin_ctx = dev;
}

/* ---- instruction generation ---- */

typedef enum {
    K_MOV_STORE, K_MOV_LOAD, K_MOV_IMM, K_MOFFS_LOAD, K_MOFFS_STORE, K_MOVZX, K_MOVSX,
    K_MOVSXD, K_ALU_MR, K_ALU_RM, K_ALU_IMM, K_TEST_MR, K_TEST_IMM, K_XCHG, K_UNARY,
    K_SHIFT, K_SHXD, K_BT_REG, K_BT_IMM, K_CMPXCHG, K_XADD, K_PUSH, K_POP, K_CALL, K_JMP,
    K_STOS, K_LODS, K_SCAS, K_MOVS, K_CMPS, K_MULDIV, K_IMUL, K_SETCC, K_CMOV, K_BITCNT,
    K_MOVBE, K_MOVNTI, K_CMPXCHG8B, K_COUNT
} kind_t;

static const char *const kind_names[K_COUNT] = {
    "mov m,r (88/89)", "mov r,m (8a/8b)", "mov m,imm (c6/c7)", "mov acc,moffs (a0/a1)",
    "mov moffs,acc (a2/a3)", "movzx (0f b6/b7)", "movsx (0f be/bf)", "movsxd (63)",
    "alu m,r (00-39)", "alu r,m (02-3b)", "alu m,imm (80/81/83)", "test m,r (84/85)",
    "test m,imm (f6/f7 /0 /1)", "xchg m,r (86/87)",
    "inc dec not neg (fe/ff /0 /1, f6/f7 /2 /3)",
    "shift rotate (c0/c1 d0-d3)", "shld shrd (0f a4/a5/ac/ad)",
    "bt bts btr btc m,r (0f a3/ab/b3/bb)", "bt bts btr btc m,imm (0f ba)",
    "cmpxchg (0f b0/b1)", "xadd (0f c0/c1)", "push m (ff /6)", "pop m (8f /0)",
    "call m (ff /2)", "jmp m (ff /4)", "stos (aa/ab)", "lods (ac/ad)", "scas (ae/af)",
    "movs (a4/a5)", "cmps (a6/a7)", "mul imul div idiv (f6/f7 /4../7)",
    "imul r,m (0f af, 69, 6b)", "setcc (0f 90-9f)", "cmovcc (0f 40-4f)",
    "bsf bsr tzcnt lzcnt popcnt (0f bc/bd, f3 0f bc/bd/b8)", "movbe (0f 38 f0/f1)",
    "movnti (0f c3)", "cmpxchg8b (0f c7 /1)",
};

/* ALU groups in opcode order (SDM Vol. 2A Table A-2): ADD OR ADC SBB AND SUB XOR CMP. */
#define ALU_GROUPS 8u
#define ALU_CMP    7u
#define ALU_IS_LOGIC(a) ((a) == 1 || (a) == 4 || (a) == 6)   /* OR AND XOR */

/* K_UNARY forms: ModRM.reg of group 4/5 (FE/FF) and group 3 (F6/F7), Table A-6. */
enum { U_INC, U_DEC, U_NOT, U_NEG, U_COUNT };

/* Group 2 digits (Table A-6): ROL ROR RCL RCR SHL SHR, SAR at /7 (/6 is blank). */
enum { S_ROL, S_ROR, S_RCL, S_RCR, S_SHL, S_SHR, S_SAR = 7 };
static const unsigned shift_digits[] = { S_ROL, S_ROR, S_RCL, S_RCR, S_SHL, S_SHR, S_SAR };
#define SHIFT_OPS (sizeof shift_digits / sizeof shift_digits[0])
/* How a shift gets its count: imm8 (C0/C1), 1 (D0/D1), CL (D2/D3). */
enum { CNT_IMM, CNT_ONE, CNT_CL };

typedef struct {
    uint8_t b[X86_MAX_INSN_LEN];
    unsigned len;
    kind_t kind;
    unsigned op;             /* ALU group, U_*, S_* digit, 0..3 for BT/BTS/BTR/BTC, 1 = SHRD */
    unsigned size;           /* operand size */
    bool has_reg;            /* ModRM.reg names a register ... */
    unsigned reg;            /* ... this one (0..15; 4..7 of a byte op without REX: AH..BH) */
    bool reg_high;           /* reg is AH CH DH BH */
    unsigned count_form;     /* CNT_* for K_SHIFT and K_SHXD */
    uint64_t imm;            /* the immediate (a count or bit offset for shifts and BT) */
    bool string;             /* a string instruction: rSI/rDI/rCX set up, rep loop */
    bool addr32;             /* ... with 67 */
    bool rep, repne;
    bool stack;              /* PUSH POP CALL: RSP in the RAM window */
    unsigned opnd;           /* the ModRM/moffs operand's offset in the device window */
} gen_t;

static void put(gen_t *g, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        g->b[g->len++] = (uint8_t)(v >> (8 * i));
}

/* A register number for ModRM.reg (RSP and SPL too: the stub saves its own). */
static unsigned pick_reg(bool byte_op, bool *rex_needed)
{
    unsigned r = rnd_below(16);
    *rex_needed = r >= 8 || (byte_op && rnd_below(2));
    return r;
}

/* A shift count: small ones, the edges of each size's mask, and any byte. */
static uint64_t rnd_count(void)
{
    static const uint8_t edges[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65 };
    switch (rnd_below(3)) {
    case 0: return edges[rnd_below(sizeof edges)];
    case 1: return rnd_below(10);
    default: return rnd() & 0xFF;
    }
}

/* An instruction that an edge sweep asks for instead of a random one: its
 * kind, op (as gen_t.op) and operand size. */
typedef struct {
    kind_t kind;
    unsigned op;
    unsigned size;
} want_t;

/* Build one instruction (a random one, or of the form `want` names); the
 * RIP-relative disp32 is patched once the length is known. */
static void generate(gen_t *g, const want_t *want, unsigned opnd)
{
    memset(g, 0, sizeof *g);
    g->opnd = opnd;
    do
        g->kind = want ? want->kind : (kind_t)rnd_below(K_COUNT);
    while (!want && g->kind == K_MOVBE && !host_has[HOST_MOVBE]);
    /* Operand size: 1 (byte opcode), 2 (66), 4, 8 (REX.W). */
    unsigned size = want ? want->size : 1u << rnd_below(4);
    unsigned opcode = 0, digit = 0, imm_len = 0, reg = 0;
    bool byte_op = false, has_reg = true, lock = false, rex = false, two_byte = false;
    bool moffs = false, modrm = true, no_byte = false, f3 = false, three_byte = false;
    uint64_t imm = rnd_value();

    switch (g->kind) {
    case K_MOV_STORE: case K_MOV_LOAD: case K_XCHG: case K_TEST_MR:
        byte_op = size == 1;
        opcode = g->kind == K_MOV_STORE ? 0x88 : g->kind == K_MOV_LOAD ? 0x8A
               : g->kind == K_XCHG ? 0x86 : 0x84;
        opcode += !byte_op;
        lock = g->kind == K_XCHG && rnd_below(4) == 0;
        break;
    case K_MOV_IMM:
        byte_op = size == 1;
        opcode = byte_op ? 0xC6 : 0xC7;
        has_reg = false;
        imm_len = size == 1 ? 1 : size == 2 ? 2 : 4;
        break;
    case K_MOFFS_LOAD: case K_MOFFS_STORE:
        byte_op = size == 1;
        opcode = (g->kind == K_MOFFS_LOAD ? 0xA0 : 0xA2) + !byte_op;
        has_reg = false;
        moffs = true;
        modrm = false;
        break;
    case K_MOVZX: case K_MOVSX:
        two_byte = true;
        if (size == 1)
            size = 4;                 /* destination size: 2, 4 or 8 */
        opcode = (g->kind == K_MOVZX ? 0xB6 : 0xBE) + rnd_below(2);
        break;
    case K_MOVSXD:
        /* 66 63 reads a word by the SDM (MOVSXD r16, r/m16), a dword on AMD
         * (its #AC at a 2-aligned operand shows it): no 66 under AC. */
        if (size == 1 || (size == 2 && opnd != OPND_OFF))
            size = 8;
        opcode = 0x63;
        break;
    case K_ALU_MR: case K_ALU_RM:
        g->op = want ? want->op : rnd_below(ALU_GROUPS);
        byte_op = size == 1;
        opcode = g->op * 8 + (g->kind == K_ALU_RM ? 2 : 0) + !byte_op;
        lock = g->kind == K_ALU_MR && g->op != ALU_CMP && rnd_below(4) == 0;
        break;
    case K_ALU_IMM:
        g->op = want ? want->op : rnd_below(ALU_GROUPS);
        byte_op = size == 1;
        has_reg = false;
        digit = g->op;
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
        lock = g->op != ALU_CMP && rnd_below(4) == 0;
        break;
    case K_UNARY:
        g->op = want ? want->op : rnd_below(U_COUNT);
        byte_op = size == 1;
        has_reg = false;
        digit = g->op == U_INC ? 0 : g->op == U_DEC ? 1 : g->op == U_NOT ? 2 : 3;
        opcode = (g->op == U_INC || g->op == U_DEC ? 0xFE : 0xF6) + !byte_op;
        lock = rnd_below(4) == 0;
        break;
    case K_TEST_IMM:
        byte_op = size == 1;
        opcode = byte_op ? 0xF6 : 0xF7;
        has_reg = false;
        digit = rnd_below(2);         /* /1 is an alias of /0 */
        imm_len = size == 1 ? 1 : size == 2 ? 2 : 4;
        break;
    case K_SHIFT:
        g->op = want ? want->op : shift_digits[rnd_below(SHIFT_OPS)];
        byte_op = size == 1;
        has_reg = false;
        digit = g->op;
        g->count_form = want ? CNT_CL : rnd_below(3);
        opcode = (g->count_form == CNT_IMM ? 0xC0 : g->count_form == CNT_ONE ? 0xD0 : 0xD2) +
                 !byte_op;
        if (g->count_form == CNT_IMM) {
            imm_len = 1;
            imm = rnd_count();
        }
        break;
    case K_SHXD:
        no_byte = true;
        two_byte = true;
        g->op = rnd_below(2);         /* SHLD, SHRD */
        g->count_form = rnd_below(2) ? CNT_IMM : CNT_CL;
        opcode = (g->op ? 0xAC : 0xA4) + (g->count_form == CNT_CL);
        if (g->count_form == CNT_IMM) {
            imm_len = 1;
            imm = rnd_count();
        }
        break;
    case K_BT_REG:
        no_byte = true;
        two_byte = true;
        g->op = rnd_below(4);         /* BT BTS BTR BTC */
        opcode = 0xA3 + 8 * g->op;
        lock = g->op != 0 && rnd_below(4) == 0;
        break;
    case K_BT_IMM:
        no_byte = true;
        two_byte = true;
        has_reg = false;
        g->op = rnd_below(4);
        opcode = 0xBA;
        digit = 4 + g->op;
        imm_len = 1;
        imm = rnd() & 0xFF;
        lock = g->op != 0 && rnd_below(4) == 0;
        break;
    case K_CMPXCHG: case K_XADD:
        byte_op = size == 1;
        two_byte = true;
        opcode = (g->kind == K_CMPXCHG ? 0xB0 : 0xC0) + !byte_op;
        lock = rnd_below(2) == 0;
        break;
    case K_PUSH: case K_POP:
        size = rnd_below(4) ? 8 : 2;  /* 64-bit mode: 64 bits, or 16 with 66 */
        has_reg = false;
        opcode = g->kind == K_PUSH ? 0xFF : 0x8F;
        digit = g->kind == K_PUSH ? 6 : 0;
        g->stack = true;
        break;
    case K_CALL: case K_JMP:
        /* 64 bits whatever 66 says on Intel (SDM Vol. 2A CALL/JMP); AMD honours
         * 66 there, so the host gets none. */
        size = 8;
        has_reg = false;
        opcode = 0xFF;
        digit = g->kind == K_CALL ? 2 : 4;
        g->stack = g->kind == K_CALL;
        break;
    case K_MULDIV:
        g->op = want ? want->op : rnd_below(4);   /* MUL IMUL DIV IDIV: /4 .. /7 */
        byte_op = size == 1;
        has_reg = false;
        digit = 4 + g->op;
        opcode = byte_op ? 0xF6 : 0xF7;
        break;
    case K_IMUL:
        no_byte = true;
        g->op = rnd_below(3);         /* 0F AF, 69 iz, 6B ib */
        two_byte = g->op == 0;
        opcode = g->op == 0 ? 0xAF : g->op == 1 ? 0x69 : 0x6B;
        imm_len = g->op == 0 ? 0 : g->op == 2 ? 1 : 4;   /* 16-bit iz: below */
        break;
    case K_SETCC:
        two_byte = true;
        byte_op = true;
        has_reg = false;
        g->op = rnd_below(16);
        opcode = 0x90 + g->op;
        digit = rnd_below(8);         /* ModRM.reg is ignored */
        break;
    case K_CMOV:
        no_byte = true;
        two_byte = true;
        g->op = rnd_below(16);
        opcode = 0x40 + g->op;
        break;
    case K_BITCNT:
        no_byte = true;
        two_byte = true;
        do
            g->op = rnd_below(5);     /* BSF BSR TZCNT LZCNT POPCNT */
        while (!host_has[g->op]);
        f3 = g->op >= 2;
        opcode = g->op == 4 ? 0xB8 : g->op == 0 || g->op == 2 ? 0xBC : 0xBD;
        break;
    case K_MOVBE:
        no_byte = true;
        two_byte = three_byte = true;
        g->op = rnd_below(2);         /* load, store */
        opcode = 0xF0 + g->op;
        break;
    case K_MOVNTI:
        two_byte = true;
        if (size < 4)
            size = 4 << rnd_below(2);
        opcode = 0xC3;
        break;
    case K_CMPXCHG8B:
        two_byte = true;
        has_reg = false;
        size = 4;                     /* no 66, no REX.W (that is CMPXCHG16B) */
        opcode = 0xC7;
        digit = 1;
        lock = rnd_below(2) == 0;
        break;
    default: /* K_STOS K_LODS K_SCAS K_MOVS K_CMPS */
        byte_op = size == 1;
        opcode = g->kind == K_STOS ? 0xAA : g->kind == K_LODS ? 0xAC : g->kind == K_SCAS ? 0xAE
               : g->kind == K_MOVS ? 0xA4 : 0xA6;
        opcode += !byte_op;
        has_reg = false;
        modrm = false;
        g->string = true;
        g->rep = rnd_below(3) != 0;
        /* F2 is REPNE for SCAS/CMPS; on the others the SDM leaves it undefined. */
        g->repne = g->rep && (g->kind == K_SCAS || g->kind == K_CMPS) && rnd_below(2);
        g->addr32 = rnd_below(2);
        break;
    }
    if (no_byte && size == 1)
        size = 1u << (1 + rnd_below(3));
    if (g->kind == K_IMUL && g->op == 1 && size == 2)
        imm_len = 2;
    g->size = size;
    g->imm = imm;

    if (has_reg) {
        reg = pick_reg(byte_op, &rex);
        g->has_reg = true;
        g->reg = reg;
    }
    if (!byte_op && size == 8 && g->kind != K_PUSH && g->kind != K_POP)
        rex = true;
    if (rnd_below(8) == 0)   /* a redundant REX */
        rex = true;
    g->reg_high = byte_op && has_reg && !rex && reg >= 4;

    /* Prefixes: LOCK, REP, 66, 67, segment in any order, then REX. */
    if (lock)
        g->b[g->len++] = 0xF0;
    if (g->rep)
        g->b[g->len++] = g->repne ? 0xF2 : 0xF3;
    if (!byte_op && size == 2)
        g->b[g->len++] = 0x66;
    else if (!byte_op && size == 8 && rnd_below(8) == 0 && g->kind != K_PUSH &&
             g->kind != K_POP && g->kind != K_CALL && g->kind != K_JMP && g->kind != K_MOVNTI)
        g->b[g->len++] = 0x66;        /* REX.W wins over 66 */
    if (g->addr32)
        g->b[g->len++] = 0x67;
    if (f3)
        g->b[g->len++] = 0xF3;
    if (rnd_below(8) == 0)   /* ES CS SS DS: no override in 64-bit mode (SDM Vol. 1 3.4.2.1) */
        g->b[g->len++] = (uint8_t)(0x26 + 8 * rnd_below(4));
    if (rex)
        g->b[g->len++] = (uint8_t)(0x40 | (size == 8 && !byte_op && g->kind != K_PUSH &&
                                           g->kind != K_POP ? 0x08 : 0) |
                                   (reg >= 8 ? 0x04 : 0) | (uint8_t)rnd_below(4));  /* X, B: unused */
    if (two_byte)
        g->b[g->len++] = 0x0F;
    if (three_byte)
        g->b[g->len++] = 0x38;
    g->b[g->len++] = (uint8_t)opcode;

    size_t disp_at = 0;
    if (moffs) {
        put(g, window_la() + opnd, 8);
    } else if (modrm) {
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
        uint64_t target = window_la() + opnd;
        for (unsigned i = 0; i < 4; i++)
            g->b[disp_at + i] = (uint8_t)((target - next) >> (8 * i));
    }
}

/* ---- the flags the SDM defines ---- */

static unsigned count_mask(unsigned size)
{
    return size == 8 ? 0x3Fu : 0x1Fu;
}

/* Flags after AND/OR/XOR/TEST: OF and CF cleared, SF ZF PF by result, AF
 * undefined (SDM Vol. 2A "AND", Vol. 2B "OR", "XOR", "TEST": Flags Affected).
 * ADD ADC SUB SBB CMP NEG XADD CMPXCHG SCAS CMPS set all six by result (Vol.
 * 2A "ADD", "ADC", "CMP", "CMPXCHG", "CMPS", Vol. 2B "SUB", "SBB", "NEG",
 * "XADD", "SCAS"); INC DEC set all but CF, which must come out as it went
 * in (Vol. 2A "INC", "DEC"); MOV MOVZX MOVSX MOVSXD XCHG NOT PUSH POP CALL
 * JMP STOS LODS MOVS affect none ("Flags Affected: None"): all six compared.
 * Shifts, rotates, SHLD/SHRD, BT*: by the count, below. */
static uint64_t defined_flags(const gen_t *g, uint64_t rcx)
{
    unsigned c, bits = 8 * g->size;
    switch (g->kind) {
    case K_ALU_MR: case K_ALU_RM: case K_ALU_IMM:
        return ALU_IS_LOGIC(g->op) ? F_STATUS & ~F_AF : F_STATUS;
    case K_TEST_MR: case K_TEST_IMM:
        return F_STATUS & ~F_AF;
    case K_SHIFT:
        c = (unsigned)(g->count_form == CNT_IMM ? g->imm : g->count_form == CNT_ONE ? 1 : rcx) &
            0xFF & count_mask(g->size);
        if (c == 0)
            return F_STATUS;   /* "If the count is 0, the flags are not affected" */
        if (g->op <= S_RCR)
            /* SDM Vol. 2B RCL/RCR/ROL/ROR: CF affected, SF ZF AF PF not; OF
             * only for a count of 1. */
            return c == 1 ? F_STATUS : F_STATUS & ~F_OF;
        /* SDM Vol. 2B SAL/SAR/SHL/SHR: CF the last bit out (undefined for
         * SHL/SHR by >= the operand's bits), SF ZF PF by result, OF only for a
         * count of 1, AF undefined. */
        return F_ZF | F_SF | F_PF | (c == 1 ? F_OF : 0) |
               (c >= bits && g->op != S_SAR ? 0 : F_CF);
    case K_SHXD:
        c = (unsigned)(g->count_form == CNT_IMM ? g->imm : rcx) & 0xFF & count_mask(g->size);
        if (c == 0)
            return F_STATUS;
        /* SDM Vol. 2B SHLD/SHRD: CF SF ZF PF; OF for a count of 1; AF
         * undefined; everything undefined above the operand's bits (the
         * generator keeps 16-bit counts at 16 or below). */
        return F_CF | F_ZF | F_SF | F_PF | (c == 1 ? F_OF : 0);
    case K_BT_REG: case K_BT_IMM:
        /* SDM Vol. 2A BT/BTS/BTR/BTC: CF the bit, ZF unaffected, OF SF AF PF
         * undefined. */
        return F_CF | F_ZF;
    case K_MULDIV:
        /* SDM Vol. 2A MUL, IMUL: CF OF; SF ZF AF PF undefined. DIV, IDIV: all
         * six undefined. */
        return g->op < 2 ? F_CF | F_OF : 0;
    case K_IMUL:
        return F_CF | F_OF;
    case K_BITCNT:
        /* SDM Vol. 2A BSF/BSR: ZF (CF OF SF AF PF undefined); Vol. 2B TZCNT,
         * LZCNT: CF ZF (OF SF AF PF undefined); POPCNT: all six (ZF, the rest
         * cleared). */
        return g->op < 2 ? F_ZF : g->op < 4 ? F_CF | F_ZF : F_STATUS;
    default:
        return F_STATUS;
    }
}

/* ---- one case ---- */

typedef struct {
    uint64_t seed;
    bool ac;                 /* RFLAGS.AC set, operands misaligned: #AC where due */
    unsigned long cases, failures, per_kind[K_COUNT], faults;
    clock_t start;           /* CPU time at the first case */
} run_t;

static double cpu_seconds(const run_t *run)
{
    return (double)(clock() - run->start) / CLOCKS_PER_SEC;
}

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

/* An edge case of an edge sweep: the memory operand, the register operand
 * (m,r forms; MUL/DIV: the accumulator's lower half), RCX (the count of the
 * CL forms; MUL/DIV: the accumulator's upper half, AH or rDX) and CF in;
 * the rest random. */
typedef struct {
    uint64_t mem, reg, rcx;
    bool cf;
} edge_t;

/* A pointer to window offset `off` (the RAM window or the device's); with 67
 * the upper half of the register is junk the CPU ignores. */
static uint64_t window_ptr(bool ram, unsigned off, bool addr32)
{
    uint64_t p = window_la() + (ram ? DEV_LEN : 0) + off;
    return addr32 ? p | (rnd() << 32) : p;
}

static unsigned rnd_str_off(void)
{
    return STR_MIN + rnd_below(STR_MAX - STR_MIN + 1);
}

/* The offset register of BT m,r: bit offsets -128..255 keep the unit the
 * CPU accesses (EA + size * (offset SAR log2(bits)), SDM Vol. 2A BT) in the
 * device window (operand at +24..31: units at +8..+62); junk above a 16- or
 * 32-bit operand is ignored. */
static uint64_t bt_offset(unsigned size, uint64_t junk)
{
    int64_t off = (int64_t)rnd_below(384) - 128;
    if (size == 8)
        return (uint64_t)off;
    uint64_t m = (1ull << (8 * size)) - 1;
    return ((uint64_t)off & m) | (junk & ~m);
}

static int64_t bt_unit(unsigned size, uint64_t offset)
{
    unsigned bits = 8 * size;
    int64_t off = size == 8 ? (int64_t)offset
                : size == 4 ? (int64_t)(int32_t)offset : (int64_t)(int16_t)offset;
    int64_t unit = off >= 0 ? off / bits : -((-off + bits - 1) / bits);   /* floor */
    return unit * (int64_t)size;
}

static void one_case(run_t *run, uint64_t i, const want_t *want, const edge_t *edge)
{
    gen_t g;
    seed_case(run->seed, i);
    generate(&g, want, OPND_OFF + (run->ac ? rnd_below(8) : 0));

    native_state_t ns;
    x86_regs_t er;
    for (unsigned r = 0; r < 16; r++)
        ns.gpr[r] = rnd_value();
    uint64_t slot = (uint64_t)(uintptr_t)(code_page + slot_off);
    uint64_t opnd_gpa = MODEL_GPA + g.opnd;
    ns.rflags = F_BASE | (rnd() & (F_STATUS | F_DF)) | (run->ac ? F_AC : 0);

    model_dev_t dev = { .junk = rnd_below(2) != 0 };
    for (unsigned b = 0; b < DATA_LEN; b += 8) {
        uint64_t v = rnd_value();
        memcpy(dev.mem + b, &v, 8);
    }

    if (g.stack)
        ns.gpr[X86_RSP] = window_ptr(true, rnd_str_off(), false);
    if (g.string) {
        /* LODS reads, STOS and SCAS touch, the device; MOVS CMPS any two. */
        bool src_ram = g.kind != K_LODS && rnd_below(2);
        bool dst_ram = g.kind != K_STOS && g.kind != K_SCAS && rnd_below(2);
        unsigned si = rnd_str_off(), di = rnd_str_off();
        if ((g.kind == K_CMPS || g.kind == K_SCAS) && rnd_below(2)) {
            /* Make equal elements likely: the windows alike, often the same
             * offsets, RAX the first element at rDI. */
            memcpy(dev.mem + DEV_LEN, dev.mem, DEV_LEN);
            if (rnd_below(2))
                di = si;
            memcpy(&ns.gpr[X86_RAX], dev.mem + di, 8);
        }
        ns.gpr[X86_RSI] = window_ptr(src_ram, si, g.addr32);
        ns.gpr[X86_RDI] = window_ptr(dst_ram, di, g.addr32);
        if (g.rep)   /* 0..3 elements; with 67 the upper half of RCX is junk too */
            ns.gpr[X86_RCX] = (rnd() & ~0xFFFFFFFFull & -(uint64_t)g.addr32) | rnd_below(4);
    }
    if (g.kind == K_SHXD && g.size == 2) {
        /* A count above 16 leaves a 16-bit SHLD/SHRD undefined: keep it at 16. */
        if (g.count_form == CNT_IMM && (g.imm & 0x1F) > 16)
            g.b[g.len - 1] = (uint8_t)(g.imm &= 0xF);
        if (g.count_form == CNT_CL && (ns.gpr[X86_RCX] & 0x1F) > 16)
            ns.gpr[X86_RCX] &= ~0x10ull;
    }
    if (g.kind == K_BT_REG)
        ns.gpr[g.reg] = bt_offset(g.size, ns.gpr[g.reg]);
    if (g.kind == K_CMPXCHG && rnd_below(2))   /* equal half of the time */
        memcpy(&ns.gpr[X86_RAX], dev.mem + g.opnd, g.size);
    if (g.kind == K_CMPXCHG8B && rnd_below(2)) {   /* EDX:EAX equal half of the time */
        uint32_t half[2];
        memcpy(half, dev.mem + g.opnd, 8);
        ns.gpr[X86_RAX] = (ns.gpr[X86_RAX] & ~0xFFFFFFFFull) | half[0];
        ns.gpr[X86_RDX] = (ns.gpr[X86_RDX] & ~0xFFFFFFFFull) | half[1];
    }
    if (g.kind == K_MULDIV && g.op >= 2 && rnd_below(8) != 0) {
        /* DIV/IDIV, 7 times in 8: a dividend whose upper half is the lower half's zero or
         * sign extension, so that most quotients fit (the rest are #DE). */
        unsigned sz = g.size;
        uint64_t m = sz == 8 ? ~0ull : (1ull << (8 * sz)) - 1, sign = 1ull << (8 * sz - 1);
        uint64_t lo = sz == 1 ? ns.gpr[X86_RAX] & 0xFF : ns.gpr[X86_RAX] & m;
        uint64_t hi = g.op == 3 && (lo & sign) ? m : 0;
        if (sz == 1)
            ns.gpr[X86_RAX] = (ns.gpr[X86_RAX] & ~0xFF00ull) | ((hi & 0xFF) << 8);
        else
            ns.gpr[X86_RDX] = (ns.gpr[X86_RDX] & ~m) | hi;
    }
    uint64_t target = 0;
    if (g.kind == K_CALL || g.kind == K_JMP) {
        /* A landing place in the NOPs after the instruction. */
        target = slot + g.len + rnd_below(SLOT_LEN - g.len + 1);
        memcpy(dev.mem + g.opnd, &target, 8);
    }
    if (edge) {
        ns.rflags = (ns.rflags & ~F_CF) | (edge->cf ? F_CF : 0);
        if (g.has_reg && g.reg_high)   /* AH..BH: bits 15:8 of rax..rbx */
            ns.gpr[g.reg - 4] = (ns.gpr[g.reg - 4] & ~0xFF00ull) | ((edge->reg & 0xFF) << 8);
        else if (g.has_reg)            /* the low bits; the rest stays random */
            ns.gpr[g.reg] = edge->reg;
        if (g.count_form == CNT_CL)
            ns.gpr[X86_RCX] = edge->rcx;
        if (g.kind == K_MULDIV && g.size == 1)   /* AX = AH:AL */
            ns.gpr[X86_RAX] = (ns.gpr[X86_RAX] & ~0xFFFFull) | ((edge->rcx & 0xFF) << 8) |
                              (edge->reg & 0xFF);
        else if (g.kind == K_MULDIV) {           /* rDX:rAX */
            ns.gpr[X86_RAX] = edge->reg;
            ns.gpr[X86_RDX] = edge->rcx;
        }
        memcpy(dev.mem + g.opnd, &edge->mem, 8);   /* the low bytes are the operand */
    }
    memcpy(er.gpr, ns.gpr, sizeof er.gpr);
    er.rflags = ns.rflags;
    er.rip = slot;
    const x86_regs_t er_in = er;
    memcpy(data_page + DATA_OFF, dev.mem, DATA_LEN);
    uint64_t src_in = 0;                 /* the ModRM operand's value before */
    memcpy(&src_in, dev.mem + g.opnd, g.size < 8 ? g.size : 8);

    x86_insn_t insn;
    x86_decode_status_t st = x86_decode(g.b, g.len, X86_MODE_64, &insn);
    if (st != X86_DECODE_OK || insn.length != g.len) {
        report(run, i, &g, "decode failed or wrong length");
        return;
    }
    dev.size = insn.mem_size;
    x86_env_t env;
    x86_fault_t fault;
    host_env(&env, &dev);
    x86_emu_status_t es;
    unsigned calls = 0;
    if (g.kind == K_BT_REG)
        opnd_gpa += (uint64_t)bt_unit(g.size, ns.gpr[g.reg]);
    do {
        /* One call per element, again while RIP stays (REP), as the VMM
         * re-executes it; STOS SCAS (ES:rDI) and LODS (DS:rSI) have their
         * device operand where the register points. */
        uint64_t gpa = opnd_gpa;
        if (g.kind == K_STOS || g.kind == K_SCAS || g.kind == K_LODS) {
            uint64_t p = er.gpr[g.kind == K_LODS ? X86_RSI : X86_RDI];
            gpa = MODEL_GPA + ((g.addr32 ? (uint32_t)p : p) - window_la());
        }
        es = x86_emulate(&insn, &er, &env, gpa, &fault);
    } while (es == X86_EMU_OK && er.rip == slot && ++calls < 8);
    uint64_t rcx_in = ns.gpr[X86_RCX];   /* the count of the CL forms */
    int native_sig = native_run_catch(g.b, g.len, &ns);
    run->cases++;
    run->per_kind[g.kind]++;

    char what[512];
    size_t at = 0;
    if (native_sig || es == X86_EMU_FAULT) {
        /* The CPU raised #AC (SIGBUS) or #DE (SIGFPE): the emulator must raise
         * the same, #AC with error code 0, #DE with none, registers and memory
         * as they were (the first element of a REP faults when any does: they
         * all share the alignment). */
        unsigned vec = native_sig == SIGBUS ? X86_VEC_AC : native_sig == SIGFPE ? X86_VEC_DE : ~0u;
        run->faults++;
        if (es != X86_EMU_FAULT || fault.vector != vec ||
            fault.has_error != (vec == X86_VEC_AC) || fault.error != 0)
            at += (size_t)snprintf(what + at, sizeof what - at,
                                   "native signal %d, emulated %s vector %u; ", native_sig,
                                   x86_emu_status_str(es), es == X86_EMU_FAULT ? fault.vector : 0);
        if (memcmp(&er, &er_in, sizeof er) != 0)
            at += (size_t)snprintf(what + at, sizeof what - at, "registers changed; ");
        if (memcmp(dev.mem, data_page + DATA_OFF, DATA_LEN) != 0)
            at += (size_t)snprintf(what + at, sizeof what - at, "memory differs; ");
        if (at)
            report(run, i, &g, what);
        return;
    }
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
    /* BSF/BSR of 0: the destination is undefined (SDM Vol. 2A BSF, BSR). */
    int undefined_reg = g.kind == K_BITCNT && g.op < 2 && src_in == 0 ? (int)g.reg : -1;
    for (unsigned r = 0; r < 16 && at < sizeof what - 80; r++) {
        if (ns.gpr[r] == er.gpr[r] || (int)r == undefined_reg)
            continue;
        at += (size_t)snprintf(what + at, sizeof what - at, "gpr%u native %016llx emulated %016llx; ",
                               r, (unsigned long long)ns.gpr[r], (unsigned long long)er.gpr[r]);
    }
    uint64_t want_rip = target ? target : slot + g.len;
    if (er.rip != want_rip && at < sizeof what - 80)
        at += (size_t)snprintf(what + at, sizeof what - at, "rip +%lld, not +%lld; ",
                               (long long)(er.rip - slot), (long long)(want_rip - slot));
    uint64_t mask = defined_flags(&g, rcx_in) | F_DF;
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

static bool diff_setup(void)
{
#if !defined(__x86_64__)
    printf("\n  emudiff: not an x86-64 host, skipped\n  ");
    return false;
#endif
    if (!native_setup())
        printf("\n  emudiff: no RWX page below 2 GiB: %s\n  ", strerror(errno));
    return code_page != NULL;
}

static void test_emudiff_random(void)
{
    if (!diff_setup()) {
        CU_ASSERT_PTR_NOT_NULL(code_page);
        return;
    }
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED), .start = clock() };
    uint64_t cases = env_number("NESTOR_EMUDIFF_CASES", DIFF_CASES);
    for (uint64_t i = 0; i < cases; i++)
        one_case(&run, i, NULL, NULL);
    if (run.failures)
        printf("\n  emudiff: %lu of %lu cases differ (seed 0x%llx)", run.failures, run.cases,
               (unsigned long long)run.seed);
    printf("\n  emudiff: %lu cases (%lu raised #DE), %.3f s of CPU, seed 0x%llx, per form:",
           run.cases, run.faults, cpu_seconds(&run), (unsigned long long)run.seed);
    for (unsigned k = 0; k < K_COUNT; k++) {
        printf("%s %s %lu", k ? "," : "", kind_names[k], run.per_kind[k]);
        CU_ASSERT_TRUE(cases < 10 * K_COUNT || run.per_kind[k] > 0 ||
                       (k == K_MOVBE && !host_has[HOST_MOVBE]));
    }
    printf("\n  ");
    CU_ASSERT_EQUAL(run.cases, cases);
    CU_ASSERT_EQUAL(run.failures, 0);
}

#define AC_CASES 1000u    /* each #AC a signal: 0.1 to 0.3 ms under the sandbox */

/* Alignment checking against the host CPU (Linux runs user code at CPL 3
 * with CR0.AM set): random cases of every form with RFLAGS.AC set and the
 * ModRM/moffs operand, stacks and string pointers misaligned by 0..7. The
 * host raises #AC (SIGBUS, BUS_ADRALN) exactly where the emulator must
 * return #AC(0) with nothing changed; elsewhere the results agree as above.
 * (The random test counts its #DE cases the same way.) */
static void test_emudiff_alignment(void)
{
    if (!diff_setup()) {
        CU_ASSERT_PTR_NOT_NULL(code_page);
        return;
    }
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) ^ 0xAC, .ac = true,
                  .start = clock() };
    uint64_t cases = env_number("NESTOR_EMUDIFF_AC_CASES", AC_CASES);
    for (uint64_t i = 0; i < cases; i++)
        one_case(&run, i, NULL, NULL);
    if (run.failures)
        printf("\n  emudiff: %lu of %lu alignment cases differ", run.failures, run.cases);
    printf("\n  emudiff: %lu alignment-check cases, %lu raised #AC, %.3f s of CPU\n  ", run.cases,
           run.faults, cpu_seconds(&run));
    CU_ASSERT_EQUAL(run.cases, cases);
    CU_ASSERT_EQUAL(run.failures, 0);
    CU_ASSERT_TRUE(cases < 1000 || (run.faults > cases / 10 && run.faults < cases - cases / 10));
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

/* A sweep's verdict: every case ran and none differed. */
static void end_sweep(const run_t *run, uint64_t cases, const char *name)
{
    if (run->failures)
        printf("\n  emudiff: %lu of %lu %s cases differ", run->failures, run->cases, name);
    printf("\n  emudiff: %lu %s cases, %.3f s of CPU\n  ", run->cases, name, cpu_seconds(run));
    CU_ASSERT_EQUAL(run->cases, cases);
    CU_ASSERT_EQUAL(run->failures, 0);
}

/* Every pair of edge values, with CF in 0 and 1, for ADC SBB ADD SUB CMP (m,r
 * and r,m) and INC DEC NOT NEG, at every operand size, native and emulated. */
static void test_emudiff_edges(void)
{
    if (!diff_setup()) {
        CU_ASSERT_PTR_NOT_NULL(code_page);
        return;
    }
    static const unsigned arith[] = { 2, 3, 0, 5, 7 };   /* ADC SBB ADD SUB CMP */
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) ^ 0xED6E, .start = clock() };
    uint64_t i = 0, v[16];
    for (unsigned size = 1; size <= 8; size *= 2) {
        unsigned n = edge_values(size, v);
        for (unsigned a = 0; a < n; a++) {
            for (unsigned cf = 0; cf < 2; cf++) {
                for (unsigned u = 0; u < U_COUNT; u++) {
                    want_t w = { K_UNARY, u, size };
                    edge_t e = { v[a], 0, 0, cf };
                    one_case(&run, i++, &w, &e);
                }
                for (unsigned b = 0; b < n; b++) {
                    for (unsigned k = 0; k < sizeof arith / sizeof arith[0]; k++) {
                        edge_t e = { v[a], v[b], 0, cf };
                        want_t w = { K_ALU_MR, arith[k], size };
                        one_case(&run, i++, &w, &e);
                        w.kind = K_ALU_RM;
                        one_case(&run, i++, &w, &e);
                    }
                }
            }
        }
    }
    end_sweep(&run, i, "edge");
}

/* MUL IMUL DIV IDIV at every size: every edge divisor/multiplier against
 * every edge lower half of the accumulator, its upper half 0 or all ones
 * (quotients that fit, overflow, INT_MIN / -1: #DE compared natively). */
static void test_emudiff_muldiv_edges(void)
{
    if (!diff_setup()) {
        CU_ASSERT_PTR_NOT_NULL(code_page);
        return;
    }
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) ^ 0xD1F, .start = clock() };
    uint64_t i = 0, v[16];
    for (unsigned size = 1; size <= 8; size *= 2) {
        unsigned n = edge_values(size, v);
        for (unsigned op = 0; op < 4; op++)
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++)
                    for (unsigned hi = 0; hi < 2; hi++) {
                        want_t w = { K_MULDIV, op, size };
                        edge_t e = { v[a], v[b], hi ? ~0ull : 0, false };
                        one_case(&run, i++, &w, &e);
                    }
    }
    printf("\n  emudiff: %lu of them raised #DE", run.faults);
    end_sweep(&run, i, "mul/div edge");
}

#define SWEEP_COUNTS 67u   /* CL = 0..66: past each size's bits and the 5/6-bit mask */

/* Every shift and rotate by CL = 0..66 (junk above CL must not count) at
 * every operand size, on the edge values, with CF in 0 and 1. */
static void test_emudiff_shift_sweep(void)
{
    if (!diff_setup()) {
        CU_ASSERT_PTR_NOT_NULL(code_page);
        return;
    }
    run_t run = { .seed = env_number("NESTOR_EMUDIFF_SEED", DIFF_SEED) ^ 0x5A1F, .start = clock() };
    uint64_t i = 0, v[16];
    for (unsigned size = 1; size <= 8; size *= 2) {
        unsigned n = edge_values(size, v);
        for (unsigned op = 0; op < SHIFT_OPS; op++) {
            for (unsigned c = 0; c < SWEEP_COUNTS; c++) {
                for (unsigned a = 0; a < n; a++) {
                    for (unsigned cf = 0; cf < 2; cf++) {
                        want_t w = { K_SHIFT, shift_digits[op], size };
                        edge_t e = { v[a], 0, c | ((uint64_t)(a * 0x3B + cf) << 8), cf };
                        one_case(&run, i++, &w, &e);
                    }
                }
            }
        }
    }
    end_sweep(&run, i, "shift sweep");
}

UNIT_SUITE(x86_emudiff_suite)
{
    CU_pSuite s = CU_add_suite("vmm x86 MMIO emulation vs the host CPU", NULL, NULL);
    CU_add_test(s, "150000 random instructions, native and emulated", test_emudiff_random);
    CU_add_test(s, "edge values and CF in: adc sbb add sub cmp inc dec not neg",
                test_emudiff_edges);
    CU_add_test(s, "shifts and rotates by CL 0..66, edge values, CF in",
                test_emudiff_shift_sweep);
    CU_add_test(s, "mul imul div idiv: edge operands, #DE where the CPU raises it",
                test_emudiff_muldiv_edges);
    CU_add_test(s, "alignment check: RFLAGS.AC, misaligned operands, #AC where the CPU raises it",
                test_emudiff_alignment);
}
