/*
 * nested-vmx/vmcs12.c - the fields of vmcs12 (vmcs12.h): encoding <-> slot,
 * and VMREAD/VMWRITE width semantics on the stored values (SDM Vol. 3C
 * 24.11.2, Vol. 2C VMREAD/VMWRITE).
 */
#include "nvmx.h"

/* Field encodings by slot (full access). */
static const uint32_t field_encoding[NVMX_FIELD_COUNT] = {
#define NVMX_ENCODING_(name) [V12_##name] = VMCS_##name,
    NVMX_FIELDS(NVMX_ENCODING_)
#undef NVMX_ENCODING_
};

/* 32-bit and 16-bit field widths (SDM 24.11.2). */
#define WIDTH16_MASK 0xFFFFULL
#define WIDTH32_MASK 0xFFFFFFFFULL
#define HIGH_SHIFT   32

/* An encoding without its access-type bit and reserved bits: width 14:13,
 * type 11:10 and index 9:1 packed into 13 bits. */
#define ENCODING_KEY_BITS 13
static unsigned encoding_key(uint32_t encoding)
{
    return VMCS_FIELD_WIDTH(encoding) << 11 | VMCS_FIELD_TYPE(encoding) << 9 |
           VMCS_FIELD_INDEX(encoding);
}

int vmcs12_index(uint32_t encoding, bool *high)
{
    /* SDM 24.11.2: bit 12 and bits 31:15 of an encoding are reserved; a
     * set reserved bit names no field. */
    if (encoding & VMCS_FIELD_RESERVED)
        return -1;
    bool hi = VMCS_FIELD_HIGH(encoding);
    /* SDM 24.11.2: access type 1 (high) exists only for 64-bit fields. */
    if (hi && VMCS_FIELD_WIDTH(encoding) != VMCS_WIDTH_64)
        return -1;
    /* Every VMREAD and VMWRITE of L1 looks its field up: by a table indexed
     * with the encoding's width, type and index (bits 14:13, 11:10, 9:1),
     * built once, rather than a walk of NVMX_FIELDS. */
    static int16_t slot_of[1u << ENCODING_KEY_BITS];
    static bool built;
    if (!built) {
        for (unsigned k = 0; k < sizeof slot_of / sizeof slot_of[0]; k++)
            slot_of[k] = -1;
        for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
            slot_of[encoding_key(field_encoding[i])] = (int16_t)i;
        built = true;
    }
    int i = slot_of[encoding_key(encoding)];
    if (i >= 0 && high)
        *high = hi;
    return i;
}

uint32_t vmcs12_encoding(unsigned index)
{
    return index < NVMX_FIELD_COUNT ? field_encoding[index] : ~0u;
}

unsigned vmcs12_max_index(void)
{
    /* SDM A.9: IA32_VMX_VMCS_ENUM bits 9:1 are the highest index value of
     * any supported field's encoding. */
    unsigned max = 0;
    for (unsigned i = 0; i < NVMX_FIELD_COUNT; i++)
        if (VMCS_FIELD_INDEX(field_encoding[i]) > max)
            max = VMCS_FIELD_INDEX(field_encoding[i]);
    return max;
}

/* The stored value of a field as the width keeps it (SDM 24.11.2). */
static uint64_t width_mask(uint32_t encoding)
{
    switch (VMCS_FIELD_WIDTH(encoding)) {
    case VMCS_WIDTH_16:
        return WIDTH16_MASK;
    case VMCS_WIDTH_32:
        return WIDTH32_MASK;
    default:   /* 64-bit and natural width (64 bits: Intel 64 CPUs) */
        return ~0ULL;
    }
}

uint64_t vmcs12_read(const vmcs12_t *v, uint32_t encoding)
{
    bool high = false;
    int i = vmcs12_index(encoding, &high);
    if (i < 0)
        return 0;
    /* SDM 24.11.2: the high access of a 64-bit field yields its bits 63:32
     * (in the low 32 bits); a shorter field is zero-extended (VMREAD). */
    if (high)
        return v->field[i] >> HIGH_SHIFT;
    return v->field[i] & width_mask(encoding);
}

void vmcs12_write(vmcs12_t *v, uint32_t encoding, uint64_t value)
{
    bool high = false;
    int i = vmcs12_index(encoding, &high);
    if (i < 0)
        return;
    if (high) {
        /* SDM 24.11.2: a high access writes bits 63:32 of the field only. */
        v->field[i] = (v->field[i] & WIDTH32_MASK) | (value & WIDTH32_MASK) << HIGH_SHIFT;
        return;
    }
    /* SDM Vol. 2C VMWRITE: the high bits of a source longer than the field
     * are ignored. */
    v->field[i] = value & width_mask(encoding);
}

uint64_t nvmx_lazy_group(unsigned slot)
{
    switch (slot) {
#define SEG_(s) case V12_GUEST_##s##_SEL: case V12_GUEST_##s##_BASE: \
                case V12_GUEST_##s##_LIMIT: case V12_GUEST_##s##_AR:
    SEG_(ES) SEG_(CS) SEG_(SS) SEG_(DS) SEG_(FS) SEG_(GS)
        return NESTOR_MTD_SEGS;
    SEG_(LDTR) SEG_(TR)
    case V12_GUEST_GDTR_BASE: case V12_GUEST_GDTR_LIMIT:
    case V12_GUEST_IDTR_BASE: case V12_GUEST_IDTR_LIMIT:
        return NESTOR_MTD_SYS_SEGS;
#undef SEG_
    case V12_GUEST_PDPTE0: case V12_GUEST_PDPTE1: case V12_GUEST_PDPTE2: case V12_GUEST_PDPTE3:
        return NESTOR_MTD_PDPTE;
    default:
        return 0;
    }
}
