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

#define GPR(n)     [RSP_X86_##n] = { #n, 8, F_CORE, "int64", NULL }
#define SEG(n)     [RSP_X86_##n] = { #n, 4, F_CORE, "int32", NULL }
#define ST(i)      [RSP_X86_ST0 + i] = { "st" #i, 10, F_CORE, "i387_ext", NULL }
#define FPC(n)     [RSP_X86_##n] = { #n, 4, F_CORE, "int", "float" }
#define XMM(i)     [RSP_X86_XMM0 + i] = { "xmm" #i, 16, F_SSE, "vec128", NULL }
#define SYS(n, f)  [RSP_X86_##n] = { #n, 8, f, "int64", "system" }

/* Names are gdb's (lower case): the macros' upper-case names are lowered
 * when the XML is written and when a name is looked up. */
const rsp_x86_reg_t rsp_x86_regs[RSP_X86_NREGS] = {
    GPR(RAX), GPR(RBX), GPR(RCX), GPR(RDX), GPR(RSI), GPR(RDI),
    [RSP_X86_RBP] = { "RBP", 8, F_CORE, "data_ptr", NULL },
    [RSP_X86_RSP] = { "RSP", 8, F_CORE, "data_ptr", NULL },
    GPR(R8), GPR(R9), GPR(R10), GPR(R11), GPR(R12), GPR(R13), GPR(R14), GPR(R15),
    [RSP_X86_RIP] = { "RIP", 8, F_CORE, "code_ptr", NULL },
    [RSP_X86_EFLAGS] = { "EFLAGS", 4, F_CORE, "i386_eflags", NULL },
    SEG(CS), SEG(SS), SEG(DS), SEG(ES), SEG(FS), SEG(GS),
    ST(0), ST(1), ST(2), ST(3), ST(4), ST(5), ST(6), ST(7),
    FPC(FCTRL), FPC(FSTAT), FPC(FTAG), FPC(FISEG), FPC(FIOFF), FPC(FOSEG), FPC(FOOFF),
    FPC(FOP),
    XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
    XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
    [RSP_X86_MXCSR] = { "MXCSR", 4, F_SSE, "i386_mxcsr", "vector" },
    [RSP_X86_FS_BASE] = { "FS_BASE", 8, F_SEGMENTS, "int", NULL },
    [RSP_X86_GS_BASE] = { "GS_BASE", 8, F_SEGMENTS, "int", NULL },
    SYS(CS_BASE, F_SYSTEM), SYS(SS_BASE, F_SYSTEM), SYS(DS_BASE, F_SYSTEM),
    SYS(ES_BASE, F_SYSTEM),
    SYS(CR0, F_SYSTEM), SYS(CR2, F_SYSTEM), SYS(CR3, F_SYSTEM), SYS(CR4, F_SYSTEM),
    SYS(EFER, F_SYSTEM),
};

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

#define XML_MAX 12288
static char xml[XML_MAX];
static size_t xml_len;

static void put(const char *s)
{
    while (*s && xml_len < XML_MAX - 1)
        xml[xml_len++] = *s++;
}

static void put_lower(const char *s)
{
    for (; *s && xml_len < XML_MAX - 1; s++)
        xml[xml_len++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
}

static void put_reg(unsigned i)
{
    char num[64];
    const rsp_x86_reg_t *r = &rsp_x86_regs[i];
    put("<reg name=\"");
    put_lower(r->name);
    fmt_snprintf(num, sizeof num, "\" bitsize=\"%u\" regnum=\"%u\" type=\"", r->bytes * 8u, i);
    put(num);
    put(r->type);
    if (r->group) {
        put("\" group=\"");
        put(r->group);
    }
    put("\"/>\n");
}

const char *rsp_x86_target_xml(size_t *len)
{
    if (!xml_len) {
        put("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
            "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n");
        for (unsigned f = 0; f < F_COUNT; f++) {
            put("<feature name=\"");
            put(feature_names[f]);
            put("\">\n");
            if (f == F_CORE)
                put(core_types);
            if (f == F_SSE)
                put(sse_types);
            for (unsigned i = 0; i < RSP_X86_NREGS; i++)
                if (rsp_x86_regs[i].feature == f)
                    put_reg(i);
            put("</feature>\n");
        }
        put("</target>\n");
        xml[xml_len] = 0;
    }
    if (len)
        *len = xml_len;
    return xml;
}

size_t rsp_x86_regs_bytes(void)
{
    size_t n = 0;
    for (unsigned i = 0; i < RSP_X86_NREGS; i++)
        n += rsp_x86_regs[i].bytes;
    return n;
}
