/*
 * tests/unit/test_ds_doorbell.c - a device server's side of the doorbell
 * (device-servers/common/doorbell.c, ds_doorbell.h): exit messages and
 * state pages as the kernel writes them, a fake guest RAM with the
 * guest's code and page tables, a fake device whose line a kick raises and
 * an acknowledgement lowers. Served accesses write registers and RIP only;
 * a moved line is passed on with the note set; everything the server does
 * not take is passed on untouched, with no device access; random
 * instruction bytes and states never take it outside the RAM (ASan).
 */
#include "unit.h"
#include <ds_doorbell.h>
#include <stdlib.h>
#include <string.h>
#include <x86_arch.h>
#include <x86_vmx.h>

#define RAM_BYTES   0x20000u
#define WINDOW      0xFEB00000ull
#define CODE        0x1000u
#define PML4        0x8000u            /* 64-bit mode: identity map of the first 1 GiB */
#define PDPT        0x9000u
#define PD          0xA000u
#define AR_CODE32   0xC09Bu            /* G, D/B, present, code, read, accessed */
#define AR_CODE64   0xA09Bu            /* G, L */
#define AR_DATA     0xC093u

static uint8_t ram[RAM_BYTES];
static uint8_t page[4096] __attribute__((aligned(4096)));

/* The device: a kick raises the line, an ACK lowers it; InterruptStatus
 * reads the line. Every access is counted. */
static struct {
    bool line;
    unsigned accesses, writes;
    uint64_t last_offset;
    uint32_t last_value;
} dev;

static bool fake_access(void *d, bool write, uint64_t offset, unsigned size, uint32_t *value)
{
    (void)d;
    dev.accesses++;
    dev.last_offset = offset;
    if (size != 4)
        return false;
    if (write) {
        dev.writes++;
        dev.last_value = *value;
        if (offset == VIRTIO_MMIO_QUEUE_NOTIFY)
            dev.line = true;
        else if (offset == VIRTIO_MMIO_INTERRUPT_ACK)
            dev.line = false;
        return true;
    }
    *value = offset == VIRTIO_MMIO_INTERRUPT_STATUS ? dev.line : 0;
    return offset == VIRTIO_MMIO_INTERRUPT_STATUS;
}

static bool fake_line(void *d)
{
    (void)d;
    return dev.line;
}

static ds_doorbell_t db;
static nestor_word_t mrs[NESTOR_EXIT_MR_COUNT];

/* 32-bit protected mode, paging off, flat (the VCPU's initial state). */
static void state32(void)
{
    nestor_vcpu_state_t *s = (nestor_vcpu_state_t *)page;
    memset(page, 0, sizeof page);
    s->mtd = NESTOR_DOORBELL_GROUPS;
    s->cr0 = X86_CR0_PE;
    s->rip = CODE;
    s->rflags = 2;
    nestor_vcpu_seg_t *segs = &s->es;
    for (unsigned i = 0; i < 6; i++)
        segs[i] = (nestor_vcpu_seg_t){ .limit = 0xFFFFFFFF, .ar = i == 1 ? AR_CODE32 : AR_DATA };
}

/* 64-bit mode, 4-level paging: 1 GiB identity-mapped by 2 MiB pages (the
 * data address is the exit's: only the code is fetched through them). */
static void state64(void)
{
    state32();
    nestor_vcpu_state_t *s = (nestor_vcpu_state_t *)page;
    uint64_t *pml4 = (uint64_t *)(ram + PML4), *pdpt = (uint64_t *)(ram + PDPT),
             *pd = (uint64_t *)(ram + PD);
    memset(ram + PML4, 0, 3 * 4096);
    pml4[0] = PDPT | 3;
    pdpt[0] = PD | 3;
    for (unsigned i = 0; i < 512; i++)
        pd[i] = ((uint64_t)i << 21) | 0x83;
    s->cr0 = X86_CR0_PE | X86_CR0_PG;
    s->cr3 = PML4;
    s->cr4 = X86_CR4_PAE;
    s->efer = X86_EFER_LME | X86_EFER_LMA;
    s->cs.ar = AR_CODE64;
}

static void exit_at(uint64_t gpa)
{
    memset(mrs, 0, sizeof mrs);
    mrs[NESTOR_EXIT_MR_REASON] = NESTOR_EXIT_EPT_VIOLATION;
    mrs[NESTOR_EXIT_MR_QUALIFICATION] = EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED;
    mrs[NESTOR_EXIT_MR_GUEST_PHYS] = gpa;
    mrs[NESTOR_EXIT_MR_RIP] = CODE;
}

static void code(const uint8_t *bytes, size_t n)
{
    memset(ram + CODE, 0x90, 64);
    memcpy(ram + CODE, bytes, n);
}

static void reset(void)
{
    memset(&dev, 0, sizeof dev);
    memset(ram, 0, sizeof ram);
    ds_doorbell_init(&db, page, ram, RAM_BYTES, WINDOW, fake_access, fake_line, NULL);
    state32();
}

static nestor_word_t serve(nestor_word_t *mask)
{
    return ds_doorbell_serve(&db, mrs, NESTOR_EXIT_MR_COUNT, mask);
}

#define S ((nestor_vcpu_state_t *)page)

/* A kick by MOV moffs32, EAX: served, the line went up: passed on with the
 * note; the status read: served in the server alone; the ACK by MOV m32,
 * imm32: passed on, the line down. */
static void test_kick_status_ack(void)
{
    reset();
    static const uint8_t kick[] = { 0xA3, 0x50, 0x00, 0xB0, 0xFE };   /* mov [0xFEB00050], eax */
    code(kick, sizeof kick);
    S->rax = 0x12345602;
    exit_at(WINDOW + 0x50);
    nestor_word_t mask;
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_PASS_ON);
    CU_ASSERT_EQUAL(mask & ~(nestor_word_t)NESTOR_DOORBELL_REPLY_GROUPS, 0);
    CU_ASSERT_TRUE(mask & NESTOR_MTD_RIP);
    CU_ASSERT_EQUAL(S->rip, CODE + sizeof kick);
    CU_ASSERT_EQUAL(dev.last_offset, VIRTIO_MMIO_QUEUE_NOTIFY);
    CU_ASSERT_EQUAL(dev.last_value, 0x12345602);
    CU_ASSERT_EQUAL(db.note->served, 1);
    CU_ASSERT_EQUAL(db.note->level, DS_REPLY_IRQ_LEVEL);
    CU_ASSERT_EQUAL(db.note->resumed, 0);
    CU_ASSERT_EQUAL(db.note->kicks, 1);
    db.note->served = 0;                                    /* the VMM took it */
    /* The status: EAX gets it, nothing passed on. */
    static const uint8_t status[] = { 0xA1, 0x60, 0x00, 0xB0, 0xFE };  /* mov eax, [..60] */
    code(status, sizeof status);
    S->rip = CODE;
    S->rax = ~0ull;
    exit_at(WINDOW + 0x60);
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_RESUME);
    CU_ASSERT_EQUAL(S->rax & 0xFFFFFFFF, 1);
    CU_ASSERT_EQUAL(S->rip, CODE + sizeof status);
    CU_ASSERT_EQUAL(db.note->served, 0);
    CU_ASSERT_EQUAL(db.note->resumed, 1);
    CU_ASSERT_EQUAL(db.note->kicks, 1);                    /* a read is no kick */
    /* The ACK: mov dword [0xFEB00064], 1. */
    static const uint8_t ack[] = { 0xC7, 0x05, 0x64, 0x00, 0xB0, 0xFE, 1, 0, 0, 0 };
    code(ack, sizeof ack);
    S->rip = CODE;
    exit_at(WINDOW + 0x64);
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_PASS_ON);
    CU_ASSERT_FALSE(dev.line);
    CU_ASSERT_EQUAL(db.note->served, 1);
    CU_ASSERT_EQUAL(db.note->level, 0);
    CU_ASSERT_EQUAL(S->rip, CODE + sizeof ack);
    /* The VMM learnt the line up by a reply: a kick then leaves it up. */
    db.note->served = 0;
    ds_doorbell_vmm_knows(&db, true);
    code(kick, sizeof kick);
    S->rip = CODE;
    exit_at(WINDOW + 0x50);
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_RESUME);
    CU_ASSERT_EQUAL(db.note->served, 0);
}

/* 64-bit mode through the guest's paging: mov [rbx+0x50], ecx with RBX the
 * window, and a load that zero-extends into RAX (a 32-bit destination). */
static void test_long_mode(void)
{
    reset();
    state64();
    static const uint8_t kick[] = { 0x89, 0x4B, 0x50 };            /* mov [rbx+0x50], ecx */
    code(kick, sizeof kick);
    S->rbx = WINDOW;
    S->rcx = 0xAAAA0001;
    exit_at(WINDOW + 0x50);
    nestor_word_t mask;
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_PASS_ON);
    CU_ASSERT_EQUAL(dev.last_value, 0xAAAA0001);
    CU_ASSERT_EQUAL(S->rip, CODE + sizeof kick);
    static const uint8_t load[] = { 0x8B, 0x43, 0x60 };            /* mov eax, [rbx+0x60] */
    code(load, sizeof load);
    S->rip = CODE;
    S->rax = ~0ull;
    exit_at(WINDOW + 0x60);
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_RESUME);
    CU_ASSERT_EQUAL(S->rax, 1);                        /* SDM Vol. 1 3.4.1.1: zero-extended */
    /* Code on a page the paging does not map: not served. */
    ((uint64_t *)(ram + PD))[0] = 0;
    S->rip = CODE;
    unsigned before = dev.accesses;
    CU_ASSERT_EQUAL(serve(&mask), NESTOR_EXIT_REPLY_PASS_ON);
    CU_ASSERT_EQUAL(mask, 0);
    CU_ASSERT_EQUAL(dev.accesses, before);
}

/* What the server does not take goes to the VMM untouched: no device
 * access, nothing written, the note unchanged. */
static void test_passed_on_untouched(void)
{
    static const uint8_t kick[] = { 0xA3, 0x50, 0x00, 0xB0, 0xFE };
    static const uint8_t add[] = { 0x01, 0x05, 0x50, 0x00, 0xB0, 0xFE };   /* add [..], eax */
    static const uint8_t movs[] = { 0xA5 };                               /* movsd */
    static const uint8_t status[] = { 0xA1, 0x70, 0x00, 0xB0, 0xFE };      /* Status: not ours */
    struct {
        const char *what;
        const uint8_t *code;
        size_t len;
        uint64_t gpa;
        int tweak;
    } cases[] = {
        { "another instruction (ADD)", add, sizeof add, WINDOW + 0x50, 0 },
        { "a string instruction", movs, sizeof movs, WINDOW + 0x50, 0 },
        { "a register outside the doorbell's", status, sizeof status, WINDOW + 0x70, 0 },
        { "another exit reason", kick, sizeof kick, WINDOW + 0x50, 1 },
        { "a page walk's access", kick, sizeof kick, WINDOW + 0x50, 2 },
        { "state not given", kick, sizeof kick, WINDOW + 0x50, 3 },
        { "an event being delivered", kick, sizeof kick, WINDOW + 0x50, 4 },
        { "an entry failure", kick, sizeof kick, WINDOW + 0x50, 5 },
        { "code outside RAM", kick, sizeof kick, WINDOW + 0x50, 6 },
        { "a short message", kick, sizeof kick, WINDOW + 0x50, 7 },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reset();
        code(cases[i].code, cases[i].len);
        exit_at(cases[i].gpa);
        unsigned n = NESTOR_EXIT_MR_COUNT;
        switch (cases[i].tweak) {
        case 1: mrs[NESTOR_EXIT_MR_REASON] = NESTOR_EXIT_EPT_MISCONFIG; break;
        case 2: mrs[NESTOR_EXIT_MR_QUALIFICATION] = EPT_QUAL_LINEAR_VALID; break;
        case 3: S->mtd = NESTOR_MTD_GPRS | NESTOR_MTD_RIP; break;
        case 4: mrs[NESTOR_EXIT_MR_IDT_VECTORING] = X86_INTR_VALID | 14; break;
        case 5: mrs[NESTOR_EXIT_MR_REASON] |= 1ull << 31; break;
        case 6: S->rip = RAM_BYTES - 2; break;
        case 7: n = NESTOR_EXIT_MR_COUNT - 1; break;
        }
        nestor_vcpu_state_t before = *S;
        nestor_word_t mask = ~0ull;
        nestor_word_t label = ds_doorbell_serve(&db, mrs, n, &mask);
        if (label != NESTOR_EXIT_REPLY_PASS_ON || mask || dev.accesses ||
            memcmp(&before, S, sizeof before) || db.note->served)
            printf("    %s: label %lu mask 0x%lx accesses %u\n", cases[i].what,
                   (unsigned long)label, (unsigned long)mask, dev.accesses);
        CU_ASSERT_EQUAL(label, NESTOR_EXIT_REPLY_PASS_ON);
        CU_ASSERT_EQUAL(mask, 0);
        CU_ASSERT_EQUAL(dev.accesses, 0);
        CU_ASSERT_EQUAL(memcmp(&before, S, sizeof before), 0);
        CU_ASSERT_EQUAL(db.note->served, 0);
    }
}

/* A hostile guest: random instruction bytes, registers, modes and page
 * tables at random addresses of the doorbell; every answer is RESUME or
 * PASS_ON with groups the server may write, and RAM is only read (ASan
 * catches a stray access). */
static void test_fuzz(void)
{
    const char *env = getenv("NESTOR_FUZZ_SEED");
    srand(env ? (unsigned)strtoul(env, NULL, 0) : 13);
    unsigned served = 0;
    for (unsigned round = 0; round < 20000; round++) {
        reset();
        if (rand() & 1)
            state64();
        for (unsigned i = 0; i < 16; i++)
            ram[CODE + i] = (uint8_t)rand();
        if (rand() % 4 == 0)
            for (unsigned i = 0; i < 64; i++)
                ram[PML4 + (unsigned)rand() % (3 * 4096)] = (uint8_t)rand();
        uint64_t *gprs = &S->rax;
        for (unsigned i = 0; i < 15; i++)
            gprs[i] = ((uint64_t)rand() << 33) ^ (uint64_t)rand();
        if (rand() % 8 == 0)
            S->rip = (uint64_t)rand() * 4096 + (unsigned)rand() % 4096;
        exit_at(WINDOW + DS_DOORBELL_FIRST + (unsigned)rand() % (DS_DOORBELL_END - DS_DOORBELL_FIRST));
        nestor_word_t mask;
        nestor_word_t label = serve(&mask);
        CU_ASSERT_TRUE(label == NESTOR_EXIT_REPLY_RESUME || label == NESTOR_EXIT_REPLY_PASS_ON);
        CU_ASSERT_EQUAL(mask & ~(nestor_word_t)NESTOR_DOORBELL_REPLY_GROUPS, 0);
        served += mask != 0;
    }
    printf("    (%u of 20000 random accesses served)\n", served);
}

UNIT_SUITE(ds_doorbell_suite)
{
    CU_pSuite s = CU_add_suite("device-servers/common/doorbell.c: doorbell exits served", NULL,
                               NULL);
    CU_add_test(s, "a kick, a status read, an ACK: served; a moved line passed on",
                test_kick_status_ack);
    CU_add_test(s, "64-bit mode through the guest's paging", test_long_mode);
    CU_add_test(s, "what the server does not take goes to the VMM untouched",
                test_passed_on_untouched);
    CU_add_test(s, "a hostile guest: 20,000 random instructions and states", test_fuzz);
}
