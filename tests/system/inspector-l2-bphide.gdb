# gdb's side of tests/system/inspector-l2-bphide.spec: the harness has
# connected gdb to the inspector of L2 with build/guests/bphide-l2.elf
# loaded; L2 (bphide, the guest of the test hypervisor bphidehv) waits at
# its first instruction (inspector.wait).
# L2 copies target_fn's bytes before any breakpoint of gdb's is on them (a
# hardware breakpoint: nothing in RAM).
hbreak copied
continue
delete
# The four debug registers taken (by hardware breakpoints nothing meets
# before detach), so that gdb's breakpoints below are int3s in L1's RAM:
# hidden from L2 by execute-only EPT02 entries (nested-vmx withholds read
# and write there on the inspector's request), from L1 by nested-vmx
# lifting them at each of L2's exits to L1 (debughv reads L2's code then).
hbreak start
hbreak copied
hbreak bphide_main
hbreak put_count
# Breakpoints on the first instructions of the code L2 then reads, writes
# over (the same bytes) and patches (a new first instruction).
break *target_fn
break *patch_fn
continue
# target_fn(4), after L2 read its bytes under the breakpoint
print $rdi
continue
# target_fn(5): the breakpoint stayed under L2's write
print $rdi
continue
# patch_fn before the patch: xor
x/i $pc
continue
# patch_fn after the patch: the breakpoint stayed, over the new instruction
x/i $pc
print $rip == (long)&patch_fn
# L2 prints "bphide: " with both int3s in (each byte an exit to L1, which
# reads L2's code) before put_count's hardware breakpoint stops it.
continue
monitor exits
delete
detach
