/*
 * nested-vmx/nvmx_insp.h - the protocol between an inspector of L2 and
 * nested-vmx for rights withheld in EPT02 (inspector/README.md "At L2",
 * nested-vmx/README.md "An inspector of L2"): EPT watchpoints and hidden
 * breakpoints of L2, which at L1 the inspector makes in the VM's EPT
 * (NESTOR_EPT_PROTECT), while EPT02 is nested-vmx's.
 *
 * The inspector's addresses at L2 are L1-physical (what L2's paging and
 * EPT12 lead to, in L1's RAM: the bytes it watches, its int3s), so a mask
 * is kept per 2 MiB region of L1's RAM (NVMX_INSP_REGION_BITS, the VMM's
 * frame, which is what an EPT02 2 MiB page copies): every EPT02 entry that
 * maps into a masked region, 2 MiB or 4 KiB, now or when EPT02 is built
 * again (after INVEPT, a new EPTP, an EPT12 change, a full cache), gets
 * EPT12's rights ANDed with the complement of the withheld ones, and so
 * does every L2-physical alias of those bytes. The composition of SDM
 * 28.3.3 stays: EPT02 never gives more than EPT12 (nor EPT01).
 *
 * Requests: calls on nested-vmx's endpoint badged NVMX_BADGE_INSP (the
 * capability at NVMX_GRANT_INSP_NVMX in the inspector's L2 hand-over,
 * nvmx_setup.h;
 * nobody else holds one), made while the inspector holds an exit of
 * vcpu02 or L2 has not started:
 *   NVMX_INSP_PROTECT (call) MR0 an L1-physical address in L1's RAM, MR1
 *       the rights to withhold in its region (NESTOR_EPT_WITHHOLD_NONE,
 *       _W, _RW, _ALL: _NONE gives them back). Reply NVMX_REQ_OK with MR0
 *       NVMX_INSP_REGION_BITS, MR1 the rights withheld now, MR2 those
 *       withheld before (as NESTOR_EPT_PROTECT answers); or NVMX_REQ_FAULT
 *       with MR0 NVMX_INSP_E_*, nothing changed.
 *   NVMX_INSP_FAULT (call) MR0 the L2-physical address of an EPT violation
 *       of vcpu02 the inspector holds, MR1 its exit qualification (SDM
 *       27.2.1 Table 27-7). Reply NVMX_REQ_OK with MR0 the verdict and MR1
 *       the L1-physical address (NVMX_INSP_MINE): the routing rule, here
 *       so that L1 never sees a violation it would not cause (SDM
 *       28.3.3.2: EPT12 allows the access) and always sees the ones EPT12
 *       causes, watched or not.
 *         NVMX_INSP_L1     EPT12 does not allow the access (or it leaves
 *                          L1's RAM): pass the exit on, L1 gets it.
 *         NVMX_INSP_EPT02  EPT12 allows it and no mask forbids it: EPT02
 *                          has yet to map it: pass it on.
 *         NVMX_INSP_MINE   EPT12 allows it and the mask forbids it: the
 *                          inspector's (it gives the rights back for a
 *                          step, NVMX_INSP_PROTECT).
 *   NVMX_INSP_CLEAR (call) every mask given back (the inspector detaches).
 *       Reply NVMX_REQ_OK.
 * At most NVMX_INSP_REGIONS regions are masked at once. A violation passed
 * on that the mask forbids and EPT12 allows (an inspector that let go of
 * its own) drops the mask there and maps: L1 never gets it, L2 goes on.
 */
#ifndef NVMX_INSP_H
#define NVMX_INSP_H

#define NVMX_BADGE_INSP          0xD4      /* after nvmx_state.h's NVMX_BADGE_STATE */

#define NVMX_INSP_PROTECT        0x5750    /* "WP" */
#define NVMX_INSP_FAULT          0x5746    /* "WF" */
#define NVMX_INSP_CLEAR          0x5743    /* "WC" */

#define NVMX_INSP_REGION_BITS    21        /* a mask's region: 2 MiB of L1's RAM */
#define NVMX_INSP_REGIONS        96        /* masked at once (the inspector's 32 EPT
                                              watches over 2 regions each, its int3s) */

/* NVMX_INSP_FAULT's verdicts (reply MR0). */
#define NVMX_INSP_L1             0
#define NVMX_INSP_EPT02          1
#define NVMX_INSP_MINE           2

/* NVMX_REQ_FAULT's reasons (reply MR0). */
#define NVMX_INSP_E_REQUEST      1         /* no such request, or too few words */
#define NVMX_INSP_E_RANGE        2         /* the address is outside L1's RAM */
#define NVMX_INSP_E_RIGHTS       3         /* not one of NESTOR_EPT_WITHHOLD_* */
#define NVMX_INSP_E_FULL         4         /* NVMX_INSP_REGIONS regions masked already */
#define NVMX_INSP_E_NO_XO        5         /* read and write withheld leave execute-only,
                                              which this CPU has not (SDM 28.3.3.1, A.10):
                                              withhold all three instead */

#endif
