/* device-servers/common/doorbell.c - doorbell exits served by the server (ds_doorbell.h). */
#include <ds_doorbell.h>
#include <string.h>
#include <x86_vmx.h>
#include <x86_walk.h>
#include "decode/x86_decode.h"
#include "decode/x86_emulate.h"
#include "guest_env.h"

#define GUEST_PAGE 4096ULL              /* the page the note and the state share */

void ds_doorbell_init(ds_doorbell_t *db, void *page, const uint8_t *ram, uint64_t ram_bytes,
                      uint64_t window, ds_doorbell_access_fn access, ds_doorbell_line_fn line,
                      void *dev)
{
    *db = (ds_doorbell_t){ .s = page,
                           .note = (ds_doorbell_note_t *)((uint8_t *)page + DS_DOORBELL_NOTE),
                           .ram = ram, .ram_bytes = ram_bytes, .window = window,
                           .access = access, .line = line, .dev = dev };
    _Static_assert(sizeof(nestor_vcpu_state_t) <= DS_DOORBELL_NOTE, "the note follows the state");
    _Static_assert(DS_DOORBELL_NOTE + sizeof(ds_doorbell_note_t) <= GUEST_PAGE, "in the page");
}

/* A paging-structure entry of the guest, from its RAM (x86_walk_read_fn). */
static bool read_entry(void *ctx, uint64_t gpa, unsigned size, uint64_t *e)
{
    const ds_doorbell_t *db = ctx;
    *e = 0;
    if (gpa >= db->ram_bytes || size > db->ram_bytes - gpa)
        return false;
    memcpy(e, db->ram + gpa, size);
    return true;
}

/* The device at the exit's address, as the emulator calls it: a refused
 * access reads 0 and writes nothing, as through the VMM (devsrv.h). */
static bool dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    ds_doorbell_t *db = ctx;
    uint32_t v = 0;
    if (!db->access(db->dev, false, gpa - db->window, size, &v))
        v = 0;
    *value = v;
    return true;
}

static bool dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    ds_doorbell_t *db = ctx;
    uint32_t v = (uint32_t)value;
    db->access(db->dev, true, gpa - db->window, size, &v);
    return true;
}

/* The forms served here: a plain load or store of the register (SDM Vol.
 * 2B MOV, MOVZX, MOVSX), 1 to 4 bytes, its only memory operand the device. */
static bool served_form(const x86_insn_t *insn)
{
    switch (insn->op) {
    case X86_OP_MOV_LOAD:
    case X86_OP_MOV_STORE:
    case X86_OP_MOV_STORE_IMM:
    case X86_OP_MOVZX:
    case X86_OP_MOVSX:
        return insn->mem_size <= VIRTIO_MMIO_REG_SIZE;
    default:
        return false;
    }
}

nestor_word_t ds_doorbell_serve(ds_doorbell_t *db, const nestor_word_t *mrs, unsigned n,
                                nestor_word_t *mask)
{
    const nestor_vcpu_state_t *s = db->s;
    *mask = 0;
    /* SDM Vol. 3C 27.2.1, Table 27-7: only the instruction's own data
     * access (a linear address that was translated), not a page walk. */
    const uint64_t data_access = EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATED;
    if (n < NESTOR_EXIT_MR_COUNT ||
        (mrs[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK) != NESTOR_EXIT_EPT_VIOLATION ||
        (mrs[NESTOR_EXIT_MR_REASON] & ~(uint64_t)NESTOR_EXIT_REASON_MASK) ||
        (mrs[NESTOR_EXIT_MR_QUALIFICATION] & data_access) != data_access ||
        (s->mtd & NESTOR_DOORBELL_GROUPS) != NESTOR_DOORBELL_GROUPS ||
        (mrs[NESTOR_EXIT_MR_IDT_VECTORING] & X86_INTR_VALID))
        return NESTOR_EXIT_REPLY_PASS_ON;
    const uint64_t gpa = mrs[NESTOR_EXIT_MR_GUEST_PHYS];
    if (gpa < db->window + DS_DOORBELL_FIRST || gpa >= db->window + DS_DOORBELL_END)
        return NESTOR_EXIT_REPLY_PASS_ON;
    const x86_mode_t mode = guest_cpu_mode(s);
    const x86_paging_t paging = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
    uint8_t bytes[X86_MAX_INSN_LEN];
    bool unmapped;
    size_t got = x86_fetch_linear(&paging, (mode == X86_MODE_64 ? 0 : s->cs.base) + s->rip,
                                  read_entry, db, db->ram, db->ram_bytes, bytes, sizeof bytes,
                                  &unmapped);
    x86_insn_t insn;
    if (x86_decode(bytes, got, mode, &insn) != X86_DECODE_OK || !served_form(&insn))
        return NESTOR_EXIT_REPLY_PASS_ON;
    x86_regs_t regs;
    x86_env_t env;
    x86_fault_t fault;
    guest_regs_get(s, &regs);
    guest_env_from_state(s, &env);
    env.rd = dev_read;
    env.wr = dev_write;
    env.dev = db;
    env.lin = NULL;                     /* no other memory operand in the forms served */
    if (x86_emulate(&insn, &regs, &env, gpa, &fault) != X86_EMU_OK)
        return NESTOR_EXIT_REPLY_PASS_ON;      /* a fault: the VMM injects it */
    guest_regs_put(&regs, db->s);
    db->note->kicks += insn.op != X86_OP_MOV_LOAD && insn.op != X86_OP_MOVZX &&
                       insn.op != X86_OP_MOVSX && gpa == db->window + VIRTIO_MMIO_QUEUE_NOTIFY;
    *mask = NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RFLAGS | NESTOR_MTD_RIP;
    const bool level = db->line(db->dev);
    if (level == db->vmm_level) {
        db->note->resumed++;
        return NESTOR_EXIT_REPLY_RESUME;
    }
    /* The line moved: only the VMM's PIC and I/O APIC can raise or lower
     * it in the guest. */
    db->note->level = level ? DS_REPLY_IRQ_LEVEL : 0;
    db->note->served = 1;
    db->vmm_level = level;
    return NESTOR_EXIT_REPLY_PASS_ON;
}
