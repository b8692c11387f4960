#!/usr/bin/env python3
"""The other end of the inspector's link, without gdb (tests/system/
inspector-fuzz.spec): python3 inspector_fuzz.py PORT ELF.

1. Connects to COM2 (the emulator's TCP port) and waits for the inspector.
2. Stops the running guest with Ctrl-C: 'c', then a lone 0x03 byte, must
   bring the stop reply T02 (SIGINT).
3. Sends seeded hostile packets: wrong checksums, bytes outside packets,
   over-long packets, hex that is not hex, lengths of 0 and 2^64-1, memory
   reads and writes outside the guest's RAM and unmapped, breakpoints and
   watchpoints in MMIO (the LAPIC page) and outside RAM, watchpoint lengths
   no watchpoint has, register writes the inspector must refuse, unknown
   packets. Each reply must be a well-formed
   packet (checksum right), and every refusal an error reply; nothing may
   change the guest (writes go only where they must be refused, and each
   breakpoint set is removed again).
4. Checks the inspector still answers right (qC, a memory read of a known
   global, a write watchpoint, read watchpoints until there is no room for
   another, all removed), sets 'released' so the guest's spin ends, and
   detaches: the
   guest must then finish with 0 failed (the spec judges its console).
Prints one line per stage; the spec judges them (gdb-expect).
"""
import os
import random
import re
import socket
import subprocess
import sys
import time

SEED = 0x696e7370          # "insp"
PACKETS = int(os.environ.get("INSPECTOR_FUZZ_PACKETS", "300"))
CONNECT_S = 60
REPLY_S = 120              # Bochs boots before the first reply comes
RESEND_S = 5               # then a packet without a reply is sent again...
RESENDS = 24               # ...this often
LAPIC = 0xFEE00000         # MMIO in every VM (vmm-server)
OUTSIDE_RAM = 0x30000000   # identity-mapped by the VMM's boot tables, beyond the 8 MiB VM


def checksum(data):
    return sum(data) & 0xFF


def frame(payload, bad=False):
    if isinstance(payload, str):
        payload = payload.encode('latin-1')
    cs = checksum(payload) ^ (0x5A if bad else 0)
    return b'$' + payload + b'#%02x' % cs


class Link:
    def __init__(self, port):
        end = time.monotonic() + CONNECT_S
        while True:
            try:
                self.s = socket.create_connection(('127.0.0.1', port), timeout=5)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)
        self.buf = b''
        self.replies = self.errors = self.empty = self.malformed = self.resends = 0

    def send(self, data):
        self.s.sendall(data)

    def _fill(self, deadline):
        self.s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            raise EOFError('the link closed')
        self.buf += chunk
        return True

    def packet(self, timeout):
        """The next packet's payload (acks skipped), or None at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(rb'\$([^#$]*)#([0-9a-fA-F]{2})', self.buf)
            if m:
                self.buf = self.buf[m.end():]
                body = m.group(1)
                if checksum(body) != int(m.group(2), 16):
                    self.malformed += 1
                    continue
                self.send(b'+')
                out = bytearray()
                esc = False
                for b in body:
                    if esc:
                        out.append(b ^ 0x20)
                        esc = False
                    elif b == ord('}'):
                        esc = True
                    else:
                        out.append(b)
                self.replies += 1
                return out.decode('latin-1')
            if time.monotonic() > deadline or not self._fill(deadline):
                if time.monotonic() > deadline:
                    return None

    def ask(self, payload, timeout=RESEND_S):
        """Send @payload and return its reply. As gdb does, a packet with no
        reply is sent again (the link has no flow control: bytes sent while
        the UART's FIFO is full are lost)."""
        for attempt in range(RESENDS):
            if attempt:
                self.resends += 1
            self.send(frame(payload))
            while True:
                r = self.packet(timeout)
                if r is None or not console(r):
                    break
            if r is not None:
                break
        if r is not None:
            if r.startswith('E'):
                self.errors += 1
                if not re.fullmatch(r'E[0-9a-f]{2}', r):
                    self.malformed += 1
            if r == '':
                self.empty += 1
        return r


def console(reply):
    """An O packet: console output before the real reply ("OK" is not one)."""
    return reply.startswith('O') and reply != 'OK'


def symbol(elf, name):
    out = subprocess.run(['nm', elf], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise SystemExit('no symbol %s in %s' % (name, elf))


def hostile(rng, poked):
    """One hostile packet (payload, must_fail): must_fail packets must get
    an error reply (or the empty reply for unknown ones: must_fail=None)."""
    a = rng.choice([OUTSIDE_RAM + rng.randrange(0, 1 << 20), LAPIC + rng.randrange(0, 4096),
                    (1 << 64) - rng.randrange(1, 64), 1 << rng.randrange(40, 64)])
    n = rng.choice([1, 2, 8, 16, 4096, (1 << 64) - 1, 0x7FFFFFFF])
    k = rng.randrange(16)
    if k == 0:
        return 'm%x,%x' % (a, n), True
    if k == 1:
        return 'M%x,2:abcd' % a, True
    if k == 2:
        return 'X%x,1:z' % a, True
    if k == 3:
        return 'Z0,%x,1' % a, True                      # int3 in MMIO / outside RAM
    if k == 4:
        return 'Z%d,%x,%d' % (rng.choice([2, 4]), LAPIC + 8 * rng.randrange(8), 3), True
    if k == 5:
        # CR0, CR2, EFER: read-only to gdb unless unchanged
        return 'P%x=%s' % (rng.choice([0x3f, 0x40, 0x43]), 'ff' * 8), True
    if k == 6:
        return 'G' + ''.join(rng.choice('0123456789abcdefxyz') for _ in range(rng.randrange(600))), True
    if k == 7:
        return 'p%x' % rng.randrange(0x44, 0x10000), True      # past the last register
    if k == 8:
        return 'm%s,%s' % ('f' * rng.randrange(17, 40), 'g'), True
    if k == 9:
        return 'qRcmd,' + 'zz' * rng.randrange(1, 300), True
    if k == 10:
        return 'H%s%x' % (rng.choice('gcx'), rng.randrange(2, 1000)), True
    if k == 11:
        return 'vCont;%s:%x' % (rng.choice('cstq'), rng.randrange(2, 99)), True
    if k == 12:
        # Junk after a letter that names no packet (junk after 'c' or 's'
        # could be a resume address: legal, and not ours to send).
        junk = ''.join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(0, 40)))
        return 'j' + junk.replace('$', '').replace('#', '').replace('}', '').replace('*', ''), None
    if k == 13:
        # A read watchpoint, or an access watchpoint of a length no debug
        # register takes (EPT watchpoints: no debug register has a read
        # condition), in MMIO or outside RAM. (A debug register may watch
        # any linear address: a condition of the CPU's, no access of ours.)
        if rng.randrange(2):
            return 'Z3,%x,%x' % (a, rng.choice([1, 3, 16, 4096])), True
        return 'Z4,%x,%x' % (a, rng.choice([3, 16, 4096])), True
    if k == 14:
        # Lengths no watchpoint has: 0, past RSP_WATCH_LEN_MAX, 2^64-1
        return 'Z%d,%x,%x' % (rng.choice([2, 3, 4]), poked,
                              rng.choice([0, 4097, 0x7FFFFFFF, (1 << 64) - 1])), True
    return 'Z2,%x,8' % poked, False                    # legal: removed again below


def main():
    port, elf = int(sys.argv[1]), sys.argv[2]
    poked, released = symbol(elf, 'poked'), symbol(elf, 'released')
    link = Link(port)
    print('client: connected to port %d' % port, flush=True)
    # The VM waits for us (inspector.wait): the first reply is the stop.
    stop = link.ask('?', REPLY_S)
    print('client: first stop %s' % stop, flush=True)
    # Ctrl-C: let it run, then stop it from outside.
    link.send(frame('c'))
    time.sleep(0.5)
    link.send(b'\x03')
    reply = link.packet(REPLY_S)
    print('client: after Ctrl-C %s' % reply, flush=True)
    # Hostile packets, interleaved with noise and broken frames.
    rng = random.Random(SEED)
    refused = unknown = accepted_wrongly = 0
    for i in range(PACKETS):
        r = rng.randrange(20)
        if r == 0:
            link.send(frame('g', bad=True))            # must be NAKed and ignored
            continue
        if r == 1:
            # Noise between packets ('-' would ask for a resend, '$' start
            # one, 0x03 interrupt: none of them noise).
            link.send(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
                      .replace(b'$', b'').replace(b'\x03', b'').replace(b'-', b''))
            continue
        if r == 2:
            reply = link.ask('m' + '0' * 5000)          # longer than PacketSize
            refused += reply is not None and reply.startswith('E')
            continue
        payload, must_fail = hostile(rng, poked)
        reply = link.ask(payload)
        if reply is None:
            print('client: FAILED: no reply to %r' % payload[:60], flush=True)
            return 1
        if must_fail is None:
            unknown += 1
        elif must_fail and not (reply.startswith('E') or reply == ''):
            # (An empty reply is a refusal too: "not supported", GDB
            # protocol E.2 'Z'.)
            accepted_wrongly += 1
            print('client: FAILED: %r was accepted: %r' % (payload[:60], reply[:60]), flush=True)
        elif must_fail:
            refused += 1
        elif payload.startswith('Z2'):
            link.ask('z2' + payload[2:])               # the legal watchpoint goes again
    print('client: hostile packets: %d accepted wrongly, %d malformed replies (%d sent, %d '
          'refused, %d unknown or odd)' % (accepted_wrongly, link.malformed, PACKETS, refused,
                                           unknown), flush=True)
    print('client: %d packets sent again for want of a reply' % link.resends, flush=True)
    # Still working: the thread, a known global, the stop.
    print('client: qC %s' % link.ask('qC'), flush=True)
    print('client: poked %s' % link.ask('m%x,8' % poked), flush=True)
    # A write watchpoint on it: OK in a debug register (at L2 in the
    # inspector's overlay, nested-vmx/l2_inspector.c); removed again.
    print('client: watchpoint %s' % link.ask('Z2,%x,8' % poked), flush=True)
    link.ask('z2,%x,8' % poked)
    # Read watchpoints of 1 to 16 bytes on the globals until there is no
    # room (EPT watchpoints: EWATCH_MAX, at L2 in nested-vmx's EPT02
    # mask), removed again.
    n_set, reply = 0, None
    for i in range(40):
        reply = link.ask('Z3,%x,%x' % (poked + i, 1 + i % 16))
        if reply != 'OK':
            break
        n_set += 1
    print('client: read watches: %d set, then %s' % (n_set, reply or '(empty: unsupported)'),
          flush=True)
    removed = sum(link.ask('z3,%x,%x' % (poked + i, 1 + i % 16)) == 'OK' for i in range(n_set))
    print('client: read watches removed: %d' % removed, flush=True)
    print('client: release %s' % link.ask('M%x,8:0100000000000000' % released), flush=True)
    print('client: detach %s' % link.ask('D'), flush=True)
    return 1 if accepted_wrongly or link.malformed else 0


if __name__ == '__main__':
    sys.exit(main())
