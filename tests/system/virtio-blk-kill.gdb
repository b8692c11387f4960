# gdb's side of tests/system/virtio-blk-kill.spec: the guest waits at its
# first instruction; stop it at its 4th kick (three batches written), have
# init kill and restart the block server, and let the guest run on.
break kick
ignore 1 3
continue
monitor restart disk
delete
detach
