# gdb's side of tests/system/inspector-bphide.spec (and -noxo): the harness
# has connected gdb to the inspector with build/guests/bphide.elf loaded;
# the VM waits at its first instruction (inspector.wait).
# The guest copies target_fn's bytes before any breakpoint of gdb's is on
# them (a hardware breakpoint: nothing in RAM).
hbreak copied
continue
delete
# Breakpoints on the first instructions of the code the guest then reads,
# writes over (the same bytes) and patches (a new first instruction).
break *target_fn
break *patch_fn
continue
# target_fn(4), after the guest read its bytes under the breakpoint
print $rdi
continue
# target_fn(5): the breakpoint stayed under the guest's write
print $rdi
continue
# patch_fn before the patch: xor
x/i $pc
continue
# patch_fn after the patch: the breakpoint stayed, over the new instruction
x/i $pc
print $rip == (long)&patch_fn
monitor exits
delete
detach
