"""Boot an image in an emulator, collect (and optionally stream) COM1."""
import os
import signal
import subprocess
import time

POLL_S = 0.05
START_RETRIES = 2


class BootResult:
    def __init__(self, status, seconds, serial, emulator_log, returncode):
        self.status = status            # 'exited' or 'timeout'
        self.seconds = seconds
        self.serial = serial            # path of the COM1 log
        self.emulator_log = emulator_log
        self.returncode = returncode


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _pump(fh, stream):
    data = fh.read()
    if data and stream is not None:
        stream.write(data.decode('utf-8', errors='replace'))
        stream.flush()


def _run_once(emu, iso, workdir, timeout, stream, gdb_port=None, started=None, disk=None):
    serial = os.path.join(workdir, 'serial.log')
    out_path = os.path.join(workdir, 'emulator.out')
    for stale in (serial, out_path):
        if os.path.exists(stale):
            os.unlink(stale)
    open(serial, 'wb').close()
    cmd = emu.prepare(iso, serial, workdir, gdb_port, disk)
    with open(os.path.join(workdir, 'command'), 'w') as fh:
        fh.write(' '.join(cmd) + '\n')
    emu.before_start()
    start = time.monotonic()
    with open(out_path, 'wb') as out, open(serial, 'rb') as reader:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        if started is not None:
            started(proc)
        status = 'exited'
        while proc.poll() is None:
            _pump(reader, stream)
            if time.monotonic() - start > timeout:
                _kill(proc)
                status = 'timeout'
                break
            time.sleep(POLL_S)
        _pump(reader, stream)
    return BootResult(status, time.monotonic() - start, serial, out_path, proc.returncode)


def boot(emu, iso, workdir, timeout, stream=None, gdb_port=None, started=None, disk=None):
    """Boot @iso on @emu; stop at exit or after @timeout seconds. With
    @gdb_port, COM2 is that TCP port (the inspector's link to gdb);
    @started(process) is called once the emulator runs; @disk is a raw
    image attached as the primary ATA master (nestor/disk.py)."""
    os.makedirs(workdir, exist_ok=True)
    for _ in range(START_RETRIES):
        result = _run_once(emu, iso, workdir, timeout, stream, gdb_port, started, disk)
        with open(result.emulator_log, errors='replace') as fh:
            if not emu.retry_reason(fh.read()):
                break
    return result
