# gdb's side of tests/system/virtio-net-kill.spec: ping waits at its first
# instruction; stop it at its 9th transmit kick (the HELLOs and the first
# PINGs sent), have init kill and restart the network server, and let ping
# run on.
break kick_tx
ignore 1 8
continue
monitor restart net
delete
detach
