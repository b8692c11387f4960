/*
 * pager/pager_proto.h - how a VMM hands a VM's RAM to the pager stacked
 * right above it (pager/README.md), and what the pager answers.
 *
 * Setup (badge CM_BADGE_SETUP on the pager's endpoint, after the VMM has
 * put the pager's endpoint into an exit table of its own at its level, slot
 * NESTOR_EXIT_EPT_VIOLATION only):
 *   CAP0  the VM's EPT, restricted (NESTOR_EPT_RESTRICT) to the pager's range
 *   MR0   PAGER_SETUP_MR_BASE   first guest-physical byte it owns
 *   MR1   PAGER_SETUP_MR_END    the byte after its last (the end of the VM's RAM)
 *   MR2   PAGER_SETUP_MR_LEVEL  its level of the VCPU's exit tables
 * The VMM has built the EPT tables over the range and mapped nothing in it.
 * Reply label 0: ready; anything else: refused (the VMM stops).
 *
 * Exits: badge CM_BADGE_EXIT, an EPT violation (nestor/vcpu.h exit MRs).
 * Query: badge CM_BADGE_QUERY, at the VM's end: the pager prints its
 * statistics and replies MR0 = faults it served, MR1 = exits passed on,
 * MR2 swap-outs, MR3 swap-ins (PAGER_QUERY_MR_*); the rest is in its line.
 */
#ifndef PAGER_PROTO_H
#define PAGER_PROTO_H

#define PAGER_SETUP_MR_BASE  0
#define PAGER_SETUP_MR_END   1
#define PAGER_SETUP_MR_LEVEL 2
#define PAGER_SETUP_MRS      3

#define PAGER_QUERY_MR_FAULTS     0
#define PAGER_QUERY_MR_PASSED     1
#define PAGER_QUERY_MR_SWAP_OUTS  2
#define PAGER_QUERY_MR_SWAP_INS   3
#define PAGER_QUERY_MRS           4

#endif
