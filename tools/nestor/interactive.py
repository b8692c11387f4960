"""./nestor run --interactive: the terminal wired to a VM's console.

COM1 still streams to the terminal (and the serial log) as in every run;
what is typed goes to the emulated machine's COM2, a TCP port on localhost
(as --gdb wires it), which the VMM reads when its config node is granted
the port (ioports 0x2f8-0x2ff, IRQ 3: stack-configs/linux.dts) and feeds to
its first VM's COM1 (vmm-server/README.md, "host console input"). Each VM
booted by the Linux boot protocol (a `kernel` property) gets
`nestor.interactive` on its command line, so that linux/init starts a shell
on its console after its checks."""
import os
import select
import shutil
import socket
import subprocess
import sys
import termios
import threading
import time

from nestor.errors import NestorError

INTERACTIVE_ARG = 'nestor.interactive'
CONNECT_RETRY_S = 0.2
READ_POLL_S = 0.2


def free_port():
    """A TCP port on localhost nobody listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _fdt(*args):
    res = subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('%s: %s' % (' '.join(args[:2]), res.stdout.strip()))
    return res.stdout.strip()


def interactive_config(dtb, workdir):
    """A copy of config blob @dtb in @workdir with INTERACTIVE_ARG added to
    the command line of each VM that boots a Linux kernel; returns its path
    and the names of those VMs."""
    for tool in ('fdtget', 'fdtput'):
        if not shutil.which(tool):
            raise NestorError('run --interactive: %s is missing (Debian package '
                              'device-tree-compiler)' % tool)
    os.makedirs(workdir, exist_ok=True)
    out = os.path.join(workdir, os.path.basename(dtb))
    shutil.copyfile(dtb, out)
    changed = []
    for vm in _fdt('fdtget', '-l', out, '/vms').split():
        node = '/vms/' + vm
        props = _fdt('fdtget', '-p', out, node).split()
        if 'kernel' not in props:
            continue
        cmdline = _fdt('fdtget', '-t', 's', out, node, 'cmdline') if 'cmdline' in props else ''
        if INTERACTIVE_ARG not in cmdline.split():
            _fdt('fdtput', '-t', 's', out, node, 'cmdline', (cmdline + ' ' + INTERACTIVE_ARG).strip())
        changed.append(vm)
    return out, changed


class Keyboard:
    """Sends what is typed on stdin to TCP port @port (the machine's COM2)
    from a thread of its own, the terminal without line editing or echo
    (the guest echoes) while it runs; Ctrl-C still stops the run."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.saved = None

    def __enter__(self):
        fd = sys.stdin.fileno()
        if os.isatty(fd):
            self.saved = termios.tcgetattr(fd)
            raw = termios.tcgetattr(fd)
            raw[3] &= ~(termios.ICANON | termios.ECHO)      # lflag; ISIG kept
            raw[6][termios.VMIN] = 1
            raw[6][termios.VTIME] = 0
            termios.tcsetattr(fd, termios.TCSANOW, raw)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=2)
        if self.saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, self.saved)

    def _connect(self):
        while not self.stop.is_set():
            try:
                return socket.create_connection(('127.0.0.1', self.port))
            except OSError:
                time.sleep(CONNECT_RETRY_S)
        return None

    def _run(self):
        sock = self._connect()
        if sock is None:
            return
        fd = sys.stdin.fileno()
        with sock:
            while not self.stop.is_set():
                ready, _, _ = select.select([fd], [], [], READ_POLL_S)
                if not ready:
                    continue
                data = os.read(fd, 256)
                if not data:
                    break                       # end of input: the guest runs on
                try:
                    sock.sendall(data)
                except OSError:
                    break
