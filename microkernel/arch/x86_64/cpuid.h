/* arch/x86_64/cpuid.h - CPUID leaves and feature bits (SDM Vol. 2A, CPUID). */
#ifndef ARCH_X86_64_CPUID_H
#define ARCH_X86_64_CPUID_H
#include <nestor/bits.h>

#define CPUID_LEAF_VENDOR          0x00000000
#define CPUID_LEAF_FEATURES        0x00000001
#define CPUID_LEAF_EXT_MAX         0x80000000
#define CPUID_LEAF_EXT_FEATURES    0x80000001
#define CPUID_LEAF_BRAND_FIRST     0x80000002
#define CPUID_LEAF_BRAND_LAST      0x80000004

/* CPUID.01H:ECX */
#define CPUID_1_ECX_VMX            BIT(5)
#define CPUID_1_ECX_X2APIC         BIT(21)
#define CPUID_1_ECX_XSAVE          BIT(26)
#define CPUID_1_ECX_AVX            BIT(28)
#define CPUID_1_ECX_HYPERVISOR     BIT(31)
/* CPUID.01H:EDX */
#define CPUID_1_EDX_PAE            BIT(6)
#define CPUID_1_EDX_APIC           BIT(9)
#define CPUID_1_EDX_FXSR           BIT(24)
#define CPUID_1_EDX_SSE2           BIT(26)
/* CPUID.(EAX=07H,ECX=0):EBX */
#define CPUID_LEAF_EXT_FEATURES7   0x00000007
#define CPUID_7_EBX_SMEP           BIT(7)
#define CPUID_7_EBX_SMAP           BIT(20)
/* CPUID.80000001H:ECX / EDX */
#define CPUID_81_ECX_SVM           BIT(2)
#define CPUID_81_EDX_NX            BIT(20)
#define CPUID_81_EDX_PAGE1GB       BIT(26)
#define CPUID_81_EDX_LM            BIT(29)

#endif
