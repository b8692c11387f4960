/*
 * inspector/rsp_x86.c - the x86-64 register table and the target
 * description generated from it (GDB manual G, "Target Descriptions";
 * G.5 "Standard Target Features", i386 features).
 */
#include "rsp_x86.h"
#include <fmt.h>
#include <stdbool.h>

enum { F_CORE, F_SSE, F_SEGMENTS, F_SYSTEM, F_COUNT };

static const char *const feature_names[F_COUNT] = {
    [F_CORE] = "org.gnu.gdb.i386.core",
    [F_SSE] = "org.gnu.gdb.i386.sse",
    [F_SEGMENTS] = "org.gnu.gdb.i386.segments",
    [F_SYSTEM] = "org.nestor.x86.system",
};

/* Entries (positional), and the same at their x86-64 index. */
#define E_SEG(n)    { #n, 4, F_CORE, "int32", NULL, RSP_X86_##n }
#define E_ST(i)     { "st" #i, 10, F_CORE, "i387_ext", NULL, RSP_X86_ST0 + i }
#define E_FPC(n)    { #n, 4, F_CORE, "int", "float", RSP_X86_##n }
#define E_XMM(i)    { "xmm" #i, 16, F_SSE, "vec128", NULL, RSP_X86_XMM0 + i }
#define E_SYS(n)    { #n, 8, F_SYSTEM, "int64", "system", RSP_X86_##n }
#define GPR(n)      [RSP_X86_##n] = { #n, 8, F_CORE, "int64", NULL, RSP_X86_##n }
#define SEG(n)      [RSP_X86_##n] = E_SEG(n)
#define ST(i)       [RSP_X86_ST0 + i] = E_ST(i)
#define FPC(n)      [RSP_X86_##n] = E_FPC(n)
#define XMM(i)      [RSP_X86_XMM0 + i] = E_XMM(i)
#define SYS(n)      [RSP_X86_##n] = E_SYS(n)

/* Names are gdb's (lower case): the macros' upper-case names are lowered
 * when the XML is written. */
const rsp_x86_reg_t rsp_x86_regs[RSP_X86_NREGS] = {
    GPR(RAX), GPR(RBX), GPR(RCX), GPR(RDX), GPR(RSI), GPR(RDI),
    [RSP_X86_RBP] = { "RBP", 8, F_CORE, "data_ptr", NULL, RSP_X86_RBP },
    [RSP_X86_RSP] = { "RSP", 8, F_CORE, "data_ptr", NULL, RSP_X86_RSP },
    GPR(R8), GPR(R9), GPR(R10), GPR(R11), GPR(R12), GPR(R13), GPR(R14), GPR(R15),
    [RSP_X86_RIP] = { "RIP", 8, F_CORE, "code_ptr", NULL, RSP_X86_RIP },
    [RSP_X86_EFLAGS] = { "EFLAGS", 4, F_CORE, "i386_eflags", NULL, RSP_X86_EFLAGS },
    SEG(CS), SEG(SS), SEG(DS), SEG(ES), SEG(FS), SEG(GS),
    ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7),
    FPC(FCTRL), FPC(FSTAT), FPC(FTAG), FPC(FISEG), FPC(FIOFF), FPC(FOSEG), FPC(FOOFF),
    FPC(FOP),
    XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
    XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
    [RSP_X86_MXCSR] = { "MXCSR", 4, F_SSE, "i386_mxcsr", "vector", RSP_X86_MXCSR },
    [RSP_X86_FS_BASE] = { "FS_BASE", 8, F_SEGMENTS, "int", NULL, RSP_X86_FS_BASE },
    [RSP_X86_GS_BASE] = { "GS_BASE", 8, F_SEGMENTS, "int", NULL, RSP_X86_GS_BASE },
    SYS(CS_BASE), SYS(SS_BASE), SYS(DS_BASE), SYS(ES_BASE),
    SYS(CR0), SYS(CR2), SYS(CR3), SYS(CR4), SYS(EFER),
};

/* The i386 set (gdb's 32bit-core.xml order, 32-bit general registers,
 * eight xmm), then the system feature with FS and GS bases too. */
#define R32(name, id, type) { name, 4, F_CORE, type, NULL, RSP_X86_##id }
#define N_I386 (16 + 8 + 8 + 8 + 1 + 2 + 9)
static const rsp_x86_reg_t i386_regs[N_I386] = {
    R32("eax", RAX, "int32"), R32("ecx", RCX, "int32"), R32("edx", RDX, "int32"),
    R32("ebx", RBX, "int32"), R32("esp", RSP, "data_ptr"), R32("ebp", RBP, "data_ptr"),
    R32("esi", RSI, "int32"), R32("edi", RDI, "int32"), R32("eip", RIP, "code_ptr"),
    R32("eflags", EFLAGS, "i386_eflags"),
    E_SEG(CS), E_SEG(SS), E_SEG(DS), E_SEG(ES), E_SEG(FS), E_SEG(GS),
    E_ST(0), E_ST(1), E_ST(2), E_ST(3), E_ST(4), E_ST(5), E_ST(6), E_ST(7),
    E_FPC(FCTRL), E_FPC(FSTAT), E_FPC(FTAG), E_FPC(FISEG), E_FPC(FIOFF), E_FPC(FOSEG),
    E_FPC(FOOFF), E_FPC(FOP),
    E_XMM(0), E_XMM(1), E_XMM(2), E_XMM(3), E_XMM(4), E_XMM(5), E_XMM(6), E_XMM(7),
    { "MXCSR", 4, F_SSE, "i386_mxcsr", "vector", RSP_X86_MXCSR },
    /* In our own feature: gdb 13's i386 (not amd64) architecture asserts on
     * org.gnu.gdb.i386.segments in a remote description. */
    E_SYS(FS_BASE), E_SYS(GS_BASE),
    E_SYS(CS_BASE), E_SYS(SS_BASE), E_SYS(DS_BASE), E_SYS(ES_BASE),
    E_SYS(CR0), E_SYS(CR2), E_SYS(CR3), E_SYS(CR4), E_SYS(EFER),
};

#define XML_MAX 12288
static char xml64[XML_MAX], xml32[XML_MAX];
rsp_arch_t rsp_x86_64 = { "i386:x86-64", rsp_x86_regs, RSP_X86_NREGS, xml64, 0 };
rsp_arch_t rsp_i386 = { "i386", i386_regs, N_I386, xml32, 0 };

/* The types the core and sse features use that gdb does not predefine
 * (the flag and vector layouts of EFLAGS (SDM Vol. 1 3.4.3), MXCSR (SDM
 * Vol. 1 10.2.3) and the 128-bit registers). */
static const char core_types[] =
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n";
static const char sse_types[] =
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
    "<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
    "<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
    "<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
    "</union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
    "</flags>\n";

static void put(rsp_arch_t *a, const char *str)
{
    while (*str && a->xml_len < XML_MAX - 1)
        a->xml[a->xml_len++] = *str++;
}

static void put_lower(rsp_arch_t *a, const char *str)
{
    for (; *str && a->xml_len < XML_MAX - 1; str++)
        a->xml[a->xml_len++] = (*str >= 'A' && *str <= 'Z') ? (char)(*str - 'A' + 'a') : *str;
}

static void put_reg(rsp_arch_t *a, unsigned i)
{
    char num[64];
    const rsp_x86_reg_t *r = &a->regs[i];
    put(a, "<reg name=\"");
    put_lower(a, r->name);
    fmt_snprintf(num, sizeof num, "\" bitsize=\"%u\" regnum=\"%u\" type=\"", r->bytes * 8u, i);
    put(a, num);
    put(a, r->type);
    if (r->group) {
        put(a, "\" group=\"");
        put(a, r->group);
    }
    put(a, "\"/>\n");
}

const char *rsp_arch_xml(rsp_arch_t *a, size_t *len)
{
    if (!a->xml_len) {
        put(a, "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
               "<target version=\"1.0\">\n<architecture>");
        put(a, a->architecture);
        put(a, "</architecture>\n");
        for (unsigned f = 0; f < F_COUNT; f++) {
            /* A feature without registers is left out: gdb checks a known
             * one for the registers it expects (i386 segments). */
            bool any = false;
            for (unsigned i = 0; i < a->n; i++)
                any |= a->regs[i].feature == f;
            if (!any)
                continue;
            put(a, "<feature name=\"");
            put(a, feature_names[f]);
            put(a, "\">\n");
            if (f == F_CORE)
                put(a, core_types);
            if (f == F_SSE)
                put(a, sse_types);
            for (unsigned i = 0; i < a->n; i++)
                if (a->regs[i].feature == f)
                    put_reg(a, i);
            put(a, "</feature>\n");
        }
        put(a, "</target>\n");
        a->xml[a->xml_len] = 0;
    }
    if (len)
        *len = a->xml_len;
    return a->xml;
}

size_t rsp_arch_bytes(const rsp_arch_t *a)
{
    size_t n = 0;
    for (unsigned i = 0; i < a->n; i++)
        n += a->regs[i].bytes;
    return n;
}

const rsp_x86_reg_t *rsp_arch_reg(const rsp_arch_t *a, unsigned id)
{
    for (unsigned i = 0; i < a->n; i++)
        if (a->regs[i].id == id)
            return &a->regs[i];
    return NULL;
}
