"""The host's end of a checkpoint monitor's trigger (checkpoint/include/ckpt_host.h
CKPT_HOST_*, checkpoint/README.md "From the host"): the machine's COM2 is a
TCP port of localhost, granted to the monitor by its config (ioports
0x2F8-0x2FF, IRQ 3). The monitor greets with a line starting
'checkpoint: ready' once it is set up; a line 'checkpoint' asks it for an
image at the VM's next exit boundary, and it answers with one line
starting 'checkpoint: '. `./nestor run CONFIG --checkpoint-after S` sends
it S seconds after the greeting; tests/system/checkpoint_host.py does the
same in a test."""
import socket
import time

READY = 'checkpoint: ready'
COMMAND = 'checkpoint'
ANSWER = 'checkpoint: '
CONNECT_S = 60          # the emulator opens its port once it runs
GREETING_S = 600        # Bochs boots the kernel, init and the monitors first
ANSWER_S = 120


class TriggerError(Exception):
    pass


class Link:
    """Lines over COM2's TCP port."""
    def __init__(self, port):
        end = time.monotonic() + CONNECT_S
        while True:
            try:
                self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
                break
            except OSError:
                if time.monotonic() > end:
                    raise TriggerError('no connection to COM2 (TCP port %d) in %ds' %
                                       (port, CONNECT_S))
                time.sleep(0.2)
        self.buf = b''

    def line(self, timeout):
        end = time.monotonic() + timeout
        while b'\n' not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TriggerError('no line from the checkpoint monitor in %ds' % timeout)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(256)
            except socket.timeout:
                continue
            if not data:
                raise TriggerError('COM2 closed')
            self.buf += data
        text, self.buf = self.buf.split(b'\n', 1)
        return text.decode('ascii', errors='replace').rstrip('\r')

    def send(self, text):
        self.sock.sendall(text.encode('ascii') + b'\n')

    def close(self):
        self.sock.close()


def until(link, prefix, timeout, say):
    """Lines from the monitor (each to @say) up to one starting @prefix."""
    while True:
        text = link.line(timeout)
        say(text)
        if text.startswith(prefix):
            return text


def greeted(port, say):
    """The link to the monitor on COM2 (TCP @port) once it has greeted;
    @say(text) gets every line it sends."""
    link = Link(port)
    until(link, READY, GREETING_S, say)
    return link


def ask(link, command, say):
    """Send the line @command; the monitor's answer."""
    link.send(command)
    return until(link, ANSWER, ANSWER_S, say)


def trigger(port, after_s, say):
    """The command @after_s seconds after the monitor's greeting: its answer."""
    link = greeted(port, say)
    try:
        time.sleep(after_s)
        return ask(link, COMMAND, say)
    finally:
        link.close()
