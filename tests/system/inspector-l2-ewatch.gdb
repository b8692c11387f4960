# gdb's side of tests/system/inspector-l2-ewatch.spec: at L2 (the debuggee
# as debughv's guest), more data watchpoints than the four debug registers
# and a real read watch. Kept inserted while stopped, so that "monitor
# exits" sees them. Two hardware breakpoints nothing meets again and two
# watches take DR0-DR3 (the inspector's overlay); the write watches on
# debuggee_main's 'sum' (on L2's stack) and on 'watched', and the read
# watch on 'poked', are EPT watchpoints: nested-vmx withholds the rights
# of their region of L1's RAM in EPT02 on the inspector's request
# (nested-vmx/nvmx_insp.h), and L1 sees none of it.
set breakpoint always-inserted on
break add_up
continue
delete
hbreak start
hbreak outl
watch passed
awatch released
up
watch -l sum
down
watch watched
rwatch poked
monitor exits
# sum = add_up() (EPT), passed++ (a debug register), watched = sum (EPT),
# passed++ again, put_num's read of poked (EPT, read only), the spin's read
# of released (a debug register).
continue
continue
continue
continue
continue
continue
delete
monitor exits
set var released = 1
detach
