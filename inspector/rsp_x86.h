/*
 * inspector/rsp_x86.h - the x86-64 register set the inspector offers gdb:
 * one table (rsp_x86.c) gives each register's number, name, size and
 * feature; the target description XML gdb reads (qXfer:features:read) is
 * generated from it, and the g/p packets follow its order.
 *
 * gdb's amd64 architecture (gdb/features/i386/64bit-core.xml and
 * 64bit-sse.xml, which gdb's i386_validate_tdesc_p requires by name) wants
 * the core feature with the general, segment and x87 registers, and the sse
 * feature; fs_base/gs_base go in org.gnu.gdb.i386.segments. The rest of
 * what a monitor sees (the other segment bases, control registers, EFER)
 * is our own feature, org.nestor.x86.system, which gdb shows as ordinary
 * registers ("info registers cr3").
 *
 * A guest outside IA-32e mode when gdb attaches gets the i386 set instead
 * (gdb's 32bit-core.xml and 32bit-sse.xml order: eax ecx edx ebx esp ebp esi
 * edi eip ...), which is what gdb wants with a 32-bit ELF. Entries name the
 * register they show by its x86-64 number (the id), so a backend maps one
 * set of ids whichever set gdb sees.
 */
#ifndef INSPECTOR_RSP_X86_H
#define INSPECTOR_RSP_X86_H
#include <stddef.h>
#include <stdint.h>

enum rsp_x86_reg {
    RSP_X86_RAX, RSP_X86_RBX, RSP_X86_RCX, RSP_X86_RDX,
    RSP_X86_RSI, RSP_X86_RDI, RSP_X86_RBP, RSP_X86_RSP,
    RSP_X86_R8, RSP_X86_R9, RSP_X86_R10, RSP_X86_R11,
    RSP_X86_R12, RSP_X86_R13, RSP_X86_R14, RSP_X86_R15,
    RSP_X86_RIP, RSP_X86_EFLAGS,
    RSP_X86_CS, RSP_X86_SS, RSP_X86_DS, RSP_X86_ES, RSP_X86_FS, RSP_X86_GS,
    RSP_X86_ST0, RSP_X86_ST7 = RSP_X86_ST0 + 7,
    RSP_X86_FCTRL, RSP_X86_FSTAT, RSP_X86_FTAG, RSP_X86_FISEG,
    RSP_X86_FIOFF, RSP_X86_FOSEG, RSP_X86_FOOFF, RSP_X86_FOP,
    RSP_X86_XMM0, RSP_X86_XMM15 = RSP_X86_XMM0 + 15,
    RSP_X86_MXCSR,
    RSP_X86_FS_BASE, RSP_X86_GS_BASE,
    RSP_X86_CS_BASE, RSP_X86_SS_BASE, RSP_X86_DS_BASE, RSP_X86_ES_BASE,
    RSP_X86_CR0, RSP_X86_CR2, RSP_X86_CR3, RSP_X86_CR4, RSP_X86_EFER,
    RSP_X86_NREGS
};

typedef struct {
    const char *name;
    uint8_t bytes;            /* size in the g/p packets */
    uint8_t feature;          /* index into the feature names */
    const char *type;         /* the tdesc type */
    const char *group;        /* NULL: gdb's default */
    uint8_t id;               /* the register it shows (enum rsp_x86_reg) */
} rsp_x86_reg_t;

/* A register set gdb sees: its registers in g-packet order, and its target
 * description (built once, on first use, NUL-terminated). */
typedef struct rsp_arch {
    const char *architecture;     /* gdb's name: "i386:x86-64", "i386" */
    const rsp_x86_reg_t *regs;
    unsigned n;
    char *xml;                    /* buffer of XML_MAX bytes */
    size_t xml_len;
} rsp_arch_t;

extern rsp_arch_t rsp_x86_64, rsp_i386;
extern const rsp_x86_reg_t rsp_x86_regs[RSP_X86_NREGS];   /* rsp_x86_64's (id = index) */

const char *rsp_arch_xml(rsp_arch_t *a, size_t *len);
/* The bytes of all registers in a g packet. */
size_t rsp_arch_bytes(const rsp_arch_t *a);
/* The entry of @a showing register @id, or NULL. */
const rsp_x86_reg_t *rsp_arch_reg(const rsp_arch_t *a, unsigned id);

#endif
