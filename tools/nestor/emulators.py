"""The machines Nestor boots on: QEMU (TCG), QEMU with KVM, and Bochs.

Each emulator writes COM1 to a file; the kernel ends the run itself
(QEMU isa-debug-exit at 0xf4, Bochs's 0x8900 shutdown port), so a run that
is still going at its timeout is a hang.
"""
import os
import shutil
import threading
import time

from nestor.errors import NestorError

# The emulated machines' RAM: room for a VM of 1 GiB and more (stackcfg.h
# SC_MACHINE_DEFAULT_MIB says the same; Bochs takes host <= 2048).
MACHINE_MEMORY_MIB = 2048
BOCHS_CPU_MODEL = 'corei7_skylake_x'
BOCHS_IPS = 50000000
# Bochs's rfb display binds a TCP port at start-up; instances started at the
# same instant can race for it, so starts are spaced by this much.
BOCHS_START_GAP_S = 0.5
BOCHS_RFB_BIND_ERROR = 'RFB could not bind'


class Emulator:
    name = None
    binary = None
    package = None
    has_vmx = False                 # does the machine it emulates offer VT-x?

    def unavailable_reason(self):
        """None if this emulator can run here, else why not (one line)."""
        if shutil.which(self.binary) is None:
            return '%s is not installed (Debian package %s)' % (self.binary, self.package)
        return None

    def prepare(self, iso, serial, workdir, gdb_port=None, disk=None):
        """Return the command line that boots @iso with COM1 into @serial
        (and, with @gdb_port, COM2 on that TCP port of localhost: the
        inspector's link to gdb; with @disk, that raw image file as the
        primary ATA master, the block server's disk)."""
        raise NotImplementedError

    def before_start(self):
        """Called just before the process starts (for start spacing)."""

    def retry_reason(self, emulator_output):
        """If the emulator failed to start for a transient reason, say which."""
        return None


class Qemu(Emulator):
    name = 'qemu'
    binary = 'qemu-system-x86_64'
    package = 'qemu-system-x86'

    def accel_args(self):
        return ['-accel', 'tcg']

    def prepare(self, iso, serial, workdir, gdb_port=None, disk=None):
        # The second -serial is COM2 (0x2F8, IRQ 3).
        com2 = ['-serial', 'tcp:127.0.0.1:%d,server,nowait' % gdb_port] if gdb_port else []
        # The disk on IDE index 0 (primary master); -cdrom is index 2.
        drive = ['-drive', 'file=%s,format=raw,if=ide,index=0,media=disk' % disk] if disk else []
        return [self.binary] + self.accel_args() + drive + [
            '-m', str(MACHINE_MEMORY_MIB), '-cdrom', iso, '-boot', 'd',
            '-display', 'none', '-monitor', 'none', '-no-reboot',
            '-serial', 'file:' + serial] + com2 + [
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=4']


class Kvm(Qemu):
    name = 'kvm'
    has_vmx = True

    def unavailable_reason(self):
        why = super().unavailable_reason()
        if why:
            return why
        if not os.path.exists('/dev/kvm'):
            return '/dev/kvm not present (no hardware VT-x here)'
        if not os.access('/dev/kvm', os.R_OK | os.W_OK):
            return '/dev/kvm not accessible to this user'
        if 'vmx' not in host_cpu_flags():
            return ('host CPU has no VT-x (no vmx flag in /proc/cpuinfo): Nestor needs an '
                    'Intel host for KVM')
        return None

    def accel_args(self):
        return ['-accel', 'kvm', '-cpu', 'host']


def host_cpu_flags():
    """The flags of the first CPU in /proc/cpuinfo (empty if unreadable)."""
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


class Bochs(Emulator):
    name = 'bochs'
    binary = 'bochs'
    package = 'bochs'
    has_vmx = True
    _start_lock = threading.Lock()
    _last_start = 0.0

    def prepare(self, iso, serial, workdir, gdb_port=None, disk=None):
        from nestor import disk as disks
        rc = os.path.join(workdir, 'bochsrc')
        if disk:
            # The disk is the primary master; the CD moves to the secondary channel.
            drives = BOCHS_DISK.format(disk=os.path.abspath(disk), iso=iso,
                                       cylinders=disks.cylinders(disk), heads=disks.HEADS,
                                       spt=disks.SECTORS_PER_TRACK)
        else:
            drives = BOCHS_CDROM.format(iso=iso)
        with open(rc, 'w') as fh:
            fh.write(BOCHSRC.format(mem=MACHINE_MEMORY_MIB, model=BOCHS_CPU_MODEL, ips=BOCHS_IPS,
                                    drives=drives, serial=serial,
                                    log=os.path.join(workdir, 'bochs.log')))
            if gdb_port:
                # Bochs waits at start-up until a client (gdb) connects.
                fh.write(BOCHS_COM2.format(port=gdb_port))
        cont = os.path.join(workdir, 'bochs-debugger-commands')
        with open(cont, 'w') as fh:
            fh.write('c\n')     # Debian's Bochs has its debugger built in: continue
        return [self.binary, '-q', '-f', rc, '-rc', cont]

    def before_start(self):
        with Bochs._start_lock:
            wait = Bochs._last_start + BOCHS_START_GAP_S - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            Bochs._last_start = time.monotonic()

    def retry_reason(self, emulator_output):
        if BOCHS_RFB_BIND_ERROR in emulator_output:
            return 'Bochs could not bind its rfb display port'
        return None


# clock sync=none: one tick per instruction, so runs are deterministic and
# rdtsc counts instructions. sound driver=dummy: Bochs's mixer thread aborts
# on machines without a sound card even with the speaker disabled.
# reset_on_triple_fault=0: a triple fault ends the run instead of rebooting.
BOCHSRC = '''\
memory: guest={mem}, host={mem}
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model={model}, count=1, ips={ips}, reset_on_triple_fault=0
clock: sync=none, time0=1
{drives}boot: cdrom
com1: enabled=1, mode=file, dev="{serial}"
display_library: rfb, options="timeout=0"
speaker: enabled=0
sound: driver=dummy
mouse: enabled=0
log: {log}
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
'''

BOCHS_CDROM = 'ata0-master: type=cdrom, path="{iso}", status=inserted\n'
BOCHS_DISK = ('ata0-master: type=disk, path="{disk}", mode=flat, cylinders={cylinders}, '
              'heads={heads}, spt={spt}\n'
              'ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15\n'
              'ata1-master: type=cdrom, path="{iso}", status=inserted\n')

BOCHS_COM2 = 'com2: enabled=1, mode=socket-server, dev="localhost:{port}"\n'

EMULATORS = {e.name: e for e in (Qemu(), Kvm(), Bochs())}


def get(name):
    if name not in EMULATORS:
        raise NestorError("unknown emulator '%s' (choose from %s)" %
                          (name, ', '.join(sorted(EMULATORS))))
    return EMULATORS[name]
