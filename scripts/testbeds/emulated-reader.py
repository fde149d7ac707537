#!/usr/bin/python3
"""Emulated USB ID-card reader: umockdev serves the USB side, a simulator process the card.

A program under test that uses the real libusb-1.0 code path (libusb_init,
libusb_get_device_list, libusb_open, libusb_claim_interface, libusb_bulk_transfer)
talks to this emulator when it runs with the environment written to DIR/env
(UMOCKDEV_DIR and LD_PRELOAD of umockdev's preload library). umockdev fakes
sysfs and /dev/bus/usb; the usbfs ioctls libusb issues on the device node
(SUBMITURB, REAPURB/REAPURBNDELAY, DISCARDURB, CLAIMINTERFACE, ...) arrive here.

The card logic lives in a separate simulator, started as `/bin/sh -c COMMAND`.
It reads what the host writes to the OUT endpoints on its stdin and writes
raw SAM_V frames (AA AA AA 96 69, LEN big-endian, LEN bytes) on its stdout.

Models:
  0400:c35a  OUT 0x02 (preamble + LEN) and OUT 0x06 (CMD..CHK) are forwarded in
             order; IN 0x81 returns the next frame's 7 header bytes, IN 0x85 the
             remaining LEN bytes (as many as fit in the transfer; the rest stays
             for the next 0x85 read). 0x85 returns nothing until 0x81 was read.
  0316:5020  OUT 0x01 forwarded; IN 0x82 returns frame bytes in pieces of at most
             64 bytes (never two frames in one transfer).

An IN transfer with no data stays pending until data arrives or the host
cancels it (so libusb timeouts behave as with hardware).

Usage:
  emulated-reader.py --model 0400:c35a --state-dir DIR --simulator 'COMMAND' [--simulator-control FIFO]

State directory:
  DIR/env      shell lines to source before starting the program under test
  DIR/pid      pid of this process
  DIR/ready    exists while serving (contains the device node path)
  DIR/state    "plugged BUS DEV" or "unplugged"
  DIR/control  FIFO accepting the lines "unplug", "plug" and "wedge"

"wedge" stops the device's USB side as a locked-up controller or firmware would:
every transfer stays pending, and cancelling one is acknowledged but its URB never
comes back to be reaped (libusb's synchronous calls would wait for ever). The next
unplug and plug (a power cycle) ends it. DIR/state then reads "plugged BUS DEV wedged".

Signals:
  SIGTERM/SIGINT  stop the simulator, remove the test bed, exit
  SIGUSR1         unplug: the device disappears; open handles get ENODEV
                  (LIBUSB_ERROR_NO_DEVICE), pending transfers end with NO_DEVICE
  SIGUSR2         plug back in, with the next device address (like a kernel)
"""

import argparse
import errno
import glob
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time

import gi

gi.require_version('GLib', '2.0')
gi.require_version('UMockdev', '1.0')
from gi.repository import GLib, UMockdev  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# usbfs ioctl requests (x86_64 / any 64-bit Linux; checked against linux/usbdevice_fs.h)
USBDEVFS_CONTROL = 0xC0185500
USBDEVFS_BULK = 0xC0185502
USBDEVFS_RESETEP = 0x80045503
USBDEVFS_SETINTERFACE = 0x80085504
USBDEVFS_SETCONFIGURATION = 0x80045505
USBDEVFS_GETDRIVER = 0x41045508
USBDEVFS_SUBMITURB = 0x8038550A
USBDEVFS_DISCARDURB = 0x0000550B
USBDEVFS_REAPURB = 0x4008550C
USBDEVFS_REAPURBNDELAY = 0x4008550D
USBDEVFS_DISCSIGNAL = 0x8010550E
USBDEVFS_CLAIMINTERFACE = 0x8004550F
USBDEVFS_RELEASEINTERFACE = 0x80045510
USBDEVFS_CONNECTINFO = 0x40085511
USBDEVFS_IOCTL = 0xC0105512
USBDEVFS_RESET = 0x00005514
USBDEVFS_CLEAR_HALT = 0x80045515
USBDEVFS_DISCONNECT = 0x00005516
USBDEVFS_CONNECT = 0x00005517
USBDEVFS_GET_CAPABILITIES = 0x8004551A
USBDEVFS_DISCONNECT_CLAIM = 0x8108551B
USBDEVFS_DROP_PRIVILEGES = 0x4004551E
USBDEVFS_GET_SPEED = 0x0000551F
USBDEVFS_FORBID_SUSPEND = 0x00005521
USBDEVFS_ALLOW_SUSPEND = 0x00005522
USBDEVFS_WAIT_FOR_RESUME = 0x00005523

IOCTL_NAMES = {v: k for k, v in globals().items() if k.startswith('USBDEVFS_')}

# struct usbdevfs_urb (64-bit): type u8 @0, endpoint u8 @1, status i32 @4, flags u32 @8,
# buffer ptr @16, buffer_length i32 @24, actual_length i32 @28, ... usercontext @48; size 56
URB_SIZE = 56
URB_OFF_STATUS = 4
URB_OFF_BUFFER = 16
URB_OFF_BUFLEN = 24
URB_OFF_ACTUAL = 28

URB_TYPE_ISO, URB_TYPE_INTERRUPT, URB_TYPE_CONTROL, URB_TYPE_BULK = 0, 1, 2, 3

CAP_ZERO_PACKET = 0x01
CAP_BULK_CONTINUATION = 0x02
CAP_NO_PACKET_SIZE_LIM = 0x04
CAP_REAP_AFTER_DISCONNECT = 0x10
CAPS = CAP_ZERO_PACKET | CAP_BULK_CONTINUATION | CAP_NO_PACKET_SIZE_LIM | CAP_REAP_AFTER_DISCONNECT

USB_SPEED_FULL = 2

PREAMBLES = (b'\xAA\xAA\xAA\x96\x69', b'\xAA\xAA\xAA\x69\x96')  # SAM_V; vendor MCU family

def load_models():
    """The USB models of drivers/readers/models.json that have a recorded device here: their
    endpoints and chunk size as kioskd reads them, so the emulator never disagrees with it."""
    import json
    path = os.environ.get('YITIJI_READER_MODELS') or os.path.join(HERE, '..', '..', 'drivers', 'readers', 'models.json')
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)['models']
    models = {}
    for m in entries:
        key = '%s:%s' % (m['vendorId'].lower(), m['productId'].lower())
        recording = 'reader-%s-%s.umockdev' % (m['vendorId'].lower(), m['productId'].lower())
        if not os.path.exists(os.path.join(HERE, recording)):
            continue
        endpoints = m.get('endpoints', {})
        if m.get('transport') == 'usb-split-bulk':
            models[key] = {'file': recording, 'mode': 'split',
                           'header_ep': int(endpoints['headerIn'], 16), 'body_ep': int(endpoints['bodyIn'], 16)}
        elif m.get('transport') == 'usb-chunked':
            models[key] = {'file': recording, 'mode': 'stream',
                           'in_ep': int(endpoints['in'], 16), 'chunk': int(m.get('chunkSize', 64))}
    return models


MODELS = load_models()

VERBOSE = False


def log(msg):
    try:
        sys.stderr.write('emulated-reader[%d]: %s\n' % (os.getpid(), msg))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # nobody reads the log any more; keep serving


def debug(msg):
    if VERBOSE:
        log(msg)


def hexs(data, limit=24):
    s = ' '.join('%02X' % b for b in data[:limit])
    return s + (' ...' if len(data) > limit else '')


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def find_preload_library():
    for pattern in ('/usr/lib/*/libumockdev-preload.so.0', '/usr/lib64/libumockdev-preload.so.0',
                    '/usr/lib/libumockdev-preload.so.0', '/usr/local/lib/*/libumockdev-preload.so.0',
                    '/usr/local/lib/libumockdev-preload.so.0'):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return 'libumockdev-preload.so.0'


# ---------------------------------------------------------------------------
# Device description

class DeviceDescription:
    """A umockdev-record description plus what the emulator needs from it."""

    def __init__(self, path):
        with open(path) as f:
            self.template = f.read()
        m = re.search(r'^P: (\S+)$', self.template, re.M)
        if not m:
            raise ValueError('%s: no "P:" line' % path)
        self.devpath = m.group(1)
        self.syspath = '/sys' + self.devpath
        self.busnum = int(re.search(r'^E: BUSNUM=(\d+)$', self.template, re.M).group(1))
        self.first_devnum = int(re.search(r'^E: DEVNUM=(\d+)$', self.template, re.M).group(1))
        descriptors = bytes.fromhex(re.search(r'^H: descriptors=([0-9A-F]+)$', self.template, re.M).group(1))
        self.device_descriptor = descriptors[:18]
        self.config_descriptor = descriptors[18:]
        self.strings = {}
        for idx, attr in ((descriptors[14], 'manufacturer'), (descriptors[15], 'product'),
                          (descriptors[16], 'serial')):
            m = re.search(r'^A: %s=(.*?)(\\n)?$' % attr, self.template, re.M)
            if idx and m:
                self.strings[idx] = m.group(1)
        # endpoints: address -> (transfer type, max packet size, interface number)
        self.endpoints = {}
        self.interfaces = set()
        i, cur_if = 0, None
        cfg = self.config_descriptor
        while i + 1 < len(cfg) and cfg[i] >= 2:
            length, dtype = cfg[i], cfg[i + 1]
            if dtype == 4:
                cur_if = cfg[i + 2]
                self.interfaces.add(cur_if)
            elif dtype == 5:
                addr, attrs = cfg[i + 2], cfg[i + 3]
                maxp = cfg[i + 4] | (cfg[i + 5] << 8)
                self.endpoints[addr] = (attrs & 3, maxp, cur_if)
            i += length

    def devnode(self, devnum):
        return '/dev/bus/usb/%03d/%03d' % (self.busnum, devnum)

    def render(self, devnum):
        """The description with the device address set to devnum."""
        minor = (self.busnum - 1) * 128 + devnum - 1
        text = self.template
        subs = [
            (r'^N: bus/usb/(\d+)/\d+', 'N: bus/usb/\\g<1>/%03d' % devnum),
            (r'^E: DEVNAME=.*$', 'E: DEVNAME=%s' % self.devnode(devnum)),
            (r'^E: DEVNUM=.*$', 'E: DEVNUM=%03d' % devnum),
            (r'^E: MINOR=.*$', 'E: MINOR=%d' % minor),
            (r'^A: devnum=.*$', 'A: devnum=%d\\\\n' % devnum),
            (r'^A: dev=.*$', 'A: dev=189:%d\\\\n' % minor),
        ]
        for pattern, repl in subs:
            text = re.sub(pattern, repl, text, flags=re.M)
        return text


# ---------------------------------------------------------------------------
# URBs and clients

class Urb:
    __slots__ = ('client', 'addr', 'data', 'buf', 'type', 'ep', 'length', 'submitted')

    def __init__(self, client, addr, data, buf, utype, ep, length):
        self.client = client
        self.addr = addr
        self.data = data      # IoctlData of the struct (kept until reaped)
        self.buf = buf        # IoctlData of the buffer, or None
        self.type = utype
        self.ep = ep
        self.length = length
        self.submitted = time.monotonic()

    def finish(self, status, payload=b'', actual=None, offset=0):
        """Fill in the result; it reaches the client when the URB is reaped."""
        if payload and self.buf is not None:
            self.buf.update(offset, payload)
        if actual is None:
            actual = len(payload)
        self.data.update(URB_OFF_STATUS, struct.pack('<i', status))
        self.data.update(URB_OFF_ACTUAL, struct.pack('<i', actual))


class ClientState:
    def __init__(self, client):
        self.client = client
        self.inflight = {}        # URB address -> Urb (submitted, not completed)
        self.completed = []       # Urbs ready to be reaped, in completion order
        self.blocked_reap = None  # a REAPURB ioctl waiting for a completion
        self.claimed = set()


class Plug:
    """One appearance of the device on the bus (a new one after each replug)."""

    def __init__(self, devnum, devnode):
        self.devnum = devnum
        self.devnode = devnode
        self.alive = True
        self.handler = UMockdev.IoctlBase()
        self.clients = {}  # IoctlClient -> ClientState


# ---------------------------------------------------------------------------
# The emulator

class Emulator:
    def __init__(self, args):
        self.args = args
        self.model = MODELS[args.model]
        self.desc = DeviceDescription(args.device_file or os.path.join(HERE, self.model['file']))
        self.state_dir = os.path.abspath(args.state_dir)
        self.loop = GLib.MainLoop()
        self.testbed = None
        self.root_dir = None
        self.plug = None
        self.next_devnum = self.desc.first_devnum
        self.pending_in = []       # IN Urbs of the current plug, in submission order
        self.frames = []           # complete frames from the simulator, not yet served
        self.parse_buf = bytearray()
        self.hdr_buf = b''         # split mode: unread header bytes of the current frame
        self.body_buf = b''        # split mode: unread body bytes of the current frame
        self.cur_buf = b''         # stream mode: unread bytes of the current frame
        self.sim = None
        self.sim_watch = None
        self.control_fd = None
        self.exit_code = 0
        self.pumping = False
        self.pump_again = False
        self.wedged = False         # "wedge": nothing completes, cancellations never come back

    # -- state directory ---------------------------------------------------

    def path(self, name):
        return os.path.join(self.state_dir, name)

    def write_state(self):
        if self.plug and self.plug.alive:
            write_atomic(self.path('state'), 'plugged %03d %03d%s\n' % (
                self.desc.busnum, self.plug.devnum, ' wedged' if self.wedged else ''))
        else:
            write_atomic(self.path('state'), 'unplugged\n')

    # -- plugging ------------------------------------------------------------

    def do_plug(self, initial=False):
        if self.plug and self.plug.alive:
            log('plug: already plugged')
            return
        devnum = self.next_devnum
        self.next_devnum = devnum + 1 if devnum < 127 else 2
        devnode = self.desc.devnode(devnum)
        plug = Plug(devnum, devnode)
        plug.handler.connect('handle-ioctl', self.on_ioctl, plug)
        # attach first, so that an open() right after the add uevent finds the handler
        self.testbed.attach_ioctl(devnode, plug.handler)
        self.testbed.add_from_string(self.desc.render(devnum))
        self.plug = plug
        self.reset_data()
        if not initial:
            # add_from_string() sends "add" before the descriptors attribute and the node
            # exist; a listener that lost that race sees the device with a second "add"
            GLib.timeout_add(30, self.resend_add, plug)
        self.write_state()
        log('plugged in: %s (%s)' % (devnode, self.args.model))

    def resend_add(self, plug):
        if plug is self.plug and plug.alive:
            self.testbed.uevent(self.desc.syspath, 'add')
        return False

    def do_unplug(self):
        plug = self.plug
        if plug is None or not plug.alive:
            log('unplug: already unplugged')
            return
        plug.alive = False
        self.wedged = False  # losing power ends a lock-up
        # the kernel kills every pending URB of a disconnected device with -ESHUTDOWN
        for urb in self.pending_in:
            st = plug.clients.get(urb.client)
            if st is None:
                continue
            st.inflight.pop(urb.addr, None)
            urb.finish(-errno.ESHUTDOWN)
            st.completed.append(urb)
        self.pending_in = []
        for st in plug.clients.values():
            for urb in list(st.inflight.values()):
                urb.finish(-errno.ESHUTDOWN)
                st.completed.append(urb)
            st.inflight.clear()
            self.answer_blocked_reap(st, plug)
        self.reset_data()
        self.power_cycle_simulator()
        self.testbed.uevent(self.desc.syspath, 'remove')
        self.testbed.remove_device(self.desc.syspath)
        try:
            self.testbed.detach_ioctl(plug.devnode)
        except GLib.Error as e:
            debug('detach_ioctl(%s): %s' % (plug.devnode, e.message))
        self.write_state()
        log('unplugged: %s' % plug.devnode)

    def do_wedge(self):
        if self.plug is None or not self.plug.alive:
            log('wedge: unplugged, nothing to wedge')
            return
        self.wedged = True
        self.write_state()
        log('wedged: transfers stay pending, cancellations never complete')

    def power_cycle_simulator(self):
        """A reader without power sends nothing more: answers the simulator still has queued
        (e.g. a delayed read answer) would otherwise reach the next host after a replug."""
        path = self.args.simulator_control
        if not path:
            return
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            try:
                os.write(fd, b'power-cycle\n')
            finally:
                os.close(fd)
        except OSError as e:
            log('cannot tell the simulator to power-cycle (%s): %s' % (path, e))

    def reset_data(self):
        """A reader that loses power forgets everything it had not sent yet."""
        if self.frames or self.parse_buf or self.hdr_buf or self.body_buf or self.cur_buf:
            debug('discarding %d queued frame(s) and %d buffered byte(s)' % (
                len(self.frames), len(self.parse_buf) + len(self.hdr_buf) + len(self.body_buf) + len(self.cur_buf)))
        self.frames = []
        self.parse_buf = bytearray()
        self.hdr_buf = self.body_buf = self.cur_buf = b''

    # -- simulator -----------------------------------------------------------

    def start_simulator(self):
        env = dict(os.environ)
        for var in ('UMOCKDEV_DIR', 'LD_PRELOAD'):
            env.pop(var, None)
        self.sim = subprocess.Popen(['/bin/sh', '-c', self.args.simulator], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, env=env, start_new_session=True)
        fd = self.sim.stdout.fileno()
        os.set_blocking(fd, False)
        self.sim_watch = GLib.io_add_watch(fd, GLib.PRIORITY_DEFAULT,
                                           GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
                                           self.on_sim_output)
        log('simulator started (pid %d): %s' % (self.sim.pid, self.args.simulator))

    def stop_simulator(self):
        if self.sim is None:
            return
        if self.sim_watch is not None:
            GLib.source_remove(self.sim_watch)
            self.sim_watch = None
        try:
            self.sim.stdin.close()
        except OSError:
            pass
        if self.sim.poll() is None:
            try:
                os.killpg(self.sim.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.sim.wait(2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.sim.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.sim.wait()
        self.sim = None

    def to_simulator(self, data):
        if self.sim is None or self.sim.stdin.closed:
            return
        try:
            os.write(self.sim.stdin.fileno(), data)
        except BrokenPipeError:
            log('simulator does not read its input any more; %d byte(s) dropped' % len(data))
            self.sim.stdin.close()

    def on_sim_output(self, fd, cond):
        # An exception here would remove this watch, and the reader would never answer again.
        try:
            return self.handle_sim_output(fd)
        except Exception as e:  # keep serving; say what went wrong
            log('error handling simulator output: %r' % (e,))
            return True

    def handle_sim_output(self, fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError as e:
            log('reading simulator output: %s' % e)
            data = b''
        if not data:
            status = self.sim.poll() if self.sim else None
            log('simulator closed its output (%s); the reader answers nothing from now on' % (
                'still running' if status is None else 'exit status %d' % status))
            self.sim_watch = None
            return False
        if self.plug is None or not self.plug.alive:
            debug('unplugged: dropping %d byte(s) of simulator output' % len(data))
            return True
        self.parse_buf += data
        self.parse_frames()
        self.pump()
        return True

    def parse_frames(self):
        buf = self.parse_buf
        while buf:
            if bytes(buf[:5]) not in PREAMBLES:
                idx = [i for i in (buf.find(p) for p in PREAMBLES) if i >= 0]
                if not idx:
                    keep = 4 if len(buf) > 4 else len(buf)
                    junk = len(buf) - keep
                    if junk:
                        log('simulator output: %d byte(s) outside frames dropped: %s' % (junk, hexs(buf[:junk])))
                        del buf[:junk]
                    # a partial preamble may be pending; only when it cannot be one, drop it
                    if not any(p.startswith(bytes(buf)) for p in PREAMBLES):
                        log('simulator output: %d byte(s) outside frames dropped: %s' % (len(buf), hexs(buf)))
                        del buf[:]
                    return
                start = min(idx)
                log('simulator output: %d byte(s) before a preamble dropped: %s' % (start, hexs(buf[:start])))
                del buf[:start]
            if len(buf) < 7:
                return
            total = 7 + ((buf[5] << 8) | buf[6])
            if len(buf) < total:
                return
            frame = bytes(buf[:total])
            del buf[:total]
            self.frames.append(frame)
            debug('device -> host frame, LEN %d: %s' % (total - 7, hexs(frame)))

    # -- serving IN data -----------------------------------------------------

    def take(self, ep, n):
        """Bytes for an IN transfer of n bytes on ep, or None if it has to wait."""
        m = self.model
        if m['mode'] == 'split':
            if ep == m['header_ep']:
                if not self.hdr_buf:
                    if not self.frames:
                        return None
                    frame = self.frames.pop(0)
                    if self.body_buf:
                        log('host read a new header with %d byte(s) of the previous frame unread; '
                            'they are dropped' % len(self.body_buf))
                    self.hdr_buf, self.body_buf = frame[:7], frame[7:]
                out, self.hdr_buf = self.hdr_buf[:n], self.hdr_buf[n:]
                return out
            if ep == m['body_ep']:
                if self.hdr_buf or not self.body_buf:
                    return None
                out, self.body_buf = self.body_buf[:n], self.body_buf[n:]
                return out
            return None
        if ep == m['in_ep']:
            if not self.cur_buf:
                if not self.frames:
                    return None
                self.cur_buf = self.frames.pop(0)
            k = min(n, m['chunk'])
            out, self.cur_buf = self.cur_buf[:k], self.cur_buf[k:]
            return out
        return None

    def pump(self):
        """Complete pending IN URBs for which data is there.

        Not re-entrant: answering a blocked REAPURB lets the client submit its next URB at once,
        and that submit calls pump() again while this one is still iterating. The inner call
        only asks for another round; this one does it.
        """
        if self.pumping:
            self.pump_again = True
            return
        self.pumping = True
        try:
            while True:
                self.pump_again = False
                self.pump_once()
                if not self.pump_again:
                    break
        finally:
            self.pumping = False

    def pump_once(self):
        plug = self.plug
        if plug is None or not plug.alive or self.wedged:
            return
        progress = True
        while progress and self.pending_in:
            progress = False
            for urb in list(self.pending_in):
                if urb not in self.pending_in:
                    continue  # completed or cancelled meanwhile
                st = plug.clients.get(urb.client)
                if st is None or not urb.client.get_connected():
                    self.pending_in.remove(urb)
                    continue
                data = self.take(urb.ep, urb.length) if urb.length > 0 else b''
                if data is None:
                    continue
                self.pending_in.remove(urb)
                st.inflight.pop(urb.addr, None)
                urb.finish(0, data)
                st.completed.append(urb)
                debug('IN 0x%02X: %d byte(s) after %.1f ms: %s' % (
                    urb.ep, len(data), (time.monotonic() - urb.submitted) * 1000, hexs(data)))
                self.answer_blocked_reap(st, plug)
                progress = True

    # -- ioctls --------------------------------------------------------------

    def client_state(self, plug, client):
        st = plug.clients.get(client)
        if st is None:
            st = ClientState(client)
            plug.clients[client] = st
            debug('client opened %s' % plug.devnode)
        return st

    def forget_closed_clients(self):
        """Drop the URBs and interface claims of clients that closed the device node.

        umockdev signals no close, so this runs on a timer and before every claim.
        """
        plug = self.plug
        if plug is not None:
            for client in [c for c in plug.clients if not c.get_connected()]:
                del plug.clients[client]
                self.pending_in = [u for u in self.pending_in if u.client is not client]
                debug('client closed %s' % plug.devnode)
        return True

    def on_ioctl(self, _handler, client, plug):
        try:
            return self.handle_ioctl(client, plug)
        except Exception as e:  # never leave the client hanging
            log('error handling ioctl 0x%X: %r' % (client.get_request(), e))
            client.complete(-1, errno.EIO)
            return True

    def handle_ioctl(self, client, plug):
        req = client.get_request() & 0xFFFFFFFF
        arg = client.get_arg()
        st = self.client_state(plug, client)

        if req not in (USBDEVFS_REAPURBNDELAY, USBDEVFS_SUBMITURB):
            debug('%s on %s' % (IOCTL_NAMES.get(req, '0x%08X' % req), plug.devnode))
        if req in (USBDEVFS_REAPURB, USBDEVFS_REAPURBNDELAY):
            return self.reap(client, arg, st, plug, block=(req == USBDEVFS_REAPURB))

        if not plug.alive:
            debug('%s on unplugged %s: ENODEV' % (IOCTL_NAMES.get(req, hex(req)), plug.devnode))
            client.complete(-1, errno.ENODEV)
            return True

        if req == USBDEVFS_SUBMITURB:
            return self.submit(client, arg, st, plug)
        if req == USBDEVFS_DISCARDURB:
            return self.discard(client, arg, st)
        if req == USBDEVFS_GET_CAPABILITIES:
            d = arg.resolve(0, 4)
            d.update(0, struct.pack('<I', CAPS))
            client.complete(0, 0)
        elif req in (USBDEVFS_CLAIMINTERFACE, USBDEVFS_DISCONNECT_CLAIM):
            d = arg.resolve(0, 4)
            ifnum = struct.unpack('<I', bytes(d.retrieve()[:4]))[0]
            self.claim_or_wait(client, plug, st, ifnum, 10)
        elif req == USBDEVFS_RELEASEINTERFACE:
            d = arg.resolve(0, 4)
            ifnum = struct.unpack('<I', bytes(d.retrieve()[:4]))[0]
            if ifnum in st.claimed:
                st.claimed.discard(ifnum)
                client.complete(0, 0)
            else:
                client.complete(-1, errno.EINVAL)
        elif req == USBDEVFS_SETINTERFACE:
            d = arg.resolve(0, 8)
            ifnum, alt = struct.unpack('<II', bytes(d.retrieve()[:8]))
            ok = ifnum in self.desc.interfaces and alt == 0
            client.complete(0 if ok else -1, 0 if ok else errno.EINVAL)
        elif req in (USBDEVFS_SETCONFIGURATION, USBDEVFS_CLEAR_HALT, USBDEVFS_RESETEP, USBDEVFS_RESET,
                     USBDEVFS_DISCSIGNAL, USBDEVFS_FORBID_SUSPEND, USBDEVFS_ALLOW_SUSPEND,
                     USBDEVFS_WAIT_FOR_RESUME, USBDEVFS_DROP_PRIVILEGES):
            client.complete(0, 0)
        elif req in (USBDEVFS_GETDRIVER, USBDEVFS_IOCTL, USBDEVFS_DISCONNECT, USBDEVFS_CONNECT):
            client.complete(-1, errno.ENODATA)  # no kernel driver bound to the interface
        elif req == USBDEVFS_CONNECTINFO:
            d = arg.resolve(0, 8)
            d.update(0, struct.pack('<IB', plug.devnum, 0))
            client.complete(0, 0)
        elif req == USBDEVFS_GET_SPEED:
            client.complete(USB_SPEED_FULL, 0)
        elif req == USBDEVFS_CONTROL:
            self.sync_control(client, arg)
        else:
            debug('unsupported ioctl 0x%08X: ENOTTY' % req)
            client.complete(-1, errno.ENOTTY)
        return True

    def claim_or_wait(self, client, plug, st, ifnum, tries):
        """Claim; if another client holds the interface, give a process that has just
        closed the device (not yet noticed here) up to 100 ms before answering EBUSY."""
        err = self.claim(plug, st, ifnum)
        if err == errno.EBUSY and tries > 0 and plug.alive:
            GLib.timeout_add(10, lambda: self.claim_or_wait(client, plug, st, ifnum, tries - 1) and False)
            return False
        if not plug.alive:
            err = errno.ENODEV
        client.complete(-1 if err else 0, err)
        return False

    def claim(self, plug, st, ifnum):
        if ifnum not in self.desc.interfaces:
            return errno.ENOENT
        self.forget_closed_clients()
        for other in plug.clients.values():
            if other is not st and ifnum in other.claimed:
                return errno.EBUSY
        st.claimed.add(ifnum)
        return 0

    def submit(self, client, arg, st, plug):
        # the argument holds the URB's address in the client; resolve() replaces it
        # with a local pointer, so read it first: DISCARDURB names URBs by that address
        addr = struct.unpack('<Q', bytes(arg.retrieve()[:8]))[0]
        data = arg.resolve(0, URB_SIZE)
        raw = bytes(data.retrieve())
        utype, ep = raw[0], raw[1]
        length = struct.unpack_from('<i', raw, URB_OFF_BUFLEN)[0]
        buf = data.resolve(URB_OFF_BUFFER, length) if length > 0 else None
        if length > 0 and buf is None:
            client.complete(-1, errno.EFAULT)
            return True
        urb = Urb(client, addr, data, buf, utype, ep, length)

        if utype == URB_TYPE_CONTROL:
            self.control_urb(urb)
            st.completed.append(urb)
            client.complete(0, 0)
            return True

        info = self.desc.endpoints.get(ep)
        if utype not in (URB_TYPE_BULK, URB_TYPE_INTERRUPT) or info is None:
            client.complete(-1, errno.ENOENT if info is None else errno.EINVAL)
            return True
        eptype, _maxp, ifnum = info
        if utype == URB_TYPE_INTERRUPT and eptype != 3:
            client.complete(-1, errno.EINVAL)  # as the kernel: interrupt URB on a bulk endpoint
            return True
        if ifnum not in st.claimed:
            err = self.claim(plug, st, ifnum)  # usbfs claims implicitly
            if err:
                client.complete(-1, err)
                return True

        if self.wedged:
            st.inflight[addr] = urb  # never completed, IN or OUT
            client.complete(0, 0)
            debug('wedged: %s 0x%02X submitted, never to complete' % ('IN' if ep & 0x80 else 'OUT', ep))
            return True
        if ep & 0x80:
            st.inflight[addr] = urb
            self.pending_in.append(urb)
            client.complete(0, 0)
            self.pump()
        else:
            payload = bytes(buf.retrieve()[:length]) if buf is not None else b''
            debug('host -> device OUT 0x%02X: %d byte(s): %s' % (ep, len(payload), hexs(payload)))
            self.to_simulator(payload)
            urb.finish(0, actual=length)
            st.completed.append(urb)
            client.complete(0, 0)
        return True

    def reap(self, client, arg, st, plug, block):
        if plug.alive:
            self.pump()
        if st.completed:
            urb = st.completed.pop(0)
            ptr = arg.resolve(0, 8)
            ptr.set_ptr(0, urb.data)
            client.complete(0, 0)
        elif not plug.alive:
            client.complete(-1, errno.ENODEV)
        elif block:
            st.blocked_reap = arg
        else:
            client.complete(-1, errno.EAGAIN)
        return True

    def answer_blocked_reap(self, st, plug):
        arg = st.blocked_reap
        if arg is None:
            return
        if st.completed:
            st.blocked_reap = None
            urb = st.completed.pop(0)
            ptr = arg.resolve(0, 8)
            ptr.set_ptr(0, urb.data)
            st.client.complete(0, 0)
        elif not plug.alive:
            st.blocked_reap = None
            st.client.complete(-1, errno.ENODEV)

    def discard(self, client, arg, st):
        addr = struct.unpack('<Q', bytes(arg.retrieve()[:8]))[0]
        urb = st.inflight.pop(addr, None)
        if urb is None:
            client.complete(-1, errno.EINVAL)  # already completed (or unknown)
            return True
        if urb in self.pending_in:
            self.pending_in.remove(urb)
        if self.wedged:
            # acknowledged, but the URB is never given back: the host cannot reap it
            debug('wedged: cancellation of 0x%02X acknowledged, the URB never returns' % urb.ep)
            client.complete(0, 0)
            return True
        urb.finish(-errno.ENOENT)
        st.completed.append(urb)
        debug('IN 0x%02X cancelled after %.1f ms' % (urb.ep, (time.monotonic() - urb.submitted) * 1000))
        client.complete(0, 0)
        return True

    # -- control transfers ---------------------------------------------------

    def control_answer(self, setup):
        """(status, data) for a standard request; vendor requests stall."""
        rtype, req, value, index, wlen = struct.unpack('<BBHHH', setup)
        if rtype == 0x80 and req == 6:  # GET_DESCRIPTOR
            dtype, idx = value >> 8, value & 0xFF
            if dtype == 1:
                return 0, self.desc.device_descriptor[:wlen]
            if dtype == 2 and idx == 0:
                return 0, self.desc.config_descriptor[:wlen]
            if dtype == 3:
                if idx == 0:
                    return 0, b'\x04\x03\x09\x04'[:wlen]
                s = self.desc.strings.get(idx)
                if s is not None:
                    enc = s.encode('utf-16-le')
                    return 0, (bytes([2 + len(enc), 3]) + enc)[:wlen]
            return -errno.EPIPE, b''
        if rtype == 0x80 and req == 0:  # GET_STATUS (device)
            return 0, b'\x00\x00'[:wlen]
        if rtype in (0x81, 0x82) and req == 0:
            return 0, b'\x00\x00'[:wlen]
        if rtype == 0x80 and req == 8:  # GET_CONFIGURATION
            return 0, b'\x01'[:wlen]
        if rtype == 0x81 and req == 10:  # GET_INTERFACE
            return 0, b'\x00'[:wlen]
        if rtype in (0x00, 0x01, 0x02) and req in (1, 3, 9, 11):  # CLEAR/SET_FEATURE, SET_CONFIG/INTERFACE
            return 0, b''
        return -errno.EPIPE, b''

    def control_urb(self, urb):
        if urb.length < 8 or urb.buf is None:
            urb.finish(-errno.EINVAL)
            return
        setup = bytes(urb.buf.retrieve()[:8])
        status, data = self.control_answer(setup)
        if status:
            urb.finish(status)
        elif setup[0] & 0x80:
            data = data[:urb.length - 8]
            urb.finish(0, data, offset=8)
        else:
            urb.finish(0, actual=struct.unpack_from('<H', setup, 6)[0])

    def sync_control(self, client, arg):
        d = arg.resolve(0, 24)
        raw = bytes(d.retrieve())
        setup = raw[:8]
        wlen = struct.unpack_from('<H', setup, 6)[0]
        status, data = self.control_answer(setup)
        if status:
            client.complete(-1, -status)
            return
        if setup[0] & 0x80 and data:
            buf = d.resolve(16, wlen)
            if buf is not None:
                buf.update(0, data)
            client.complete(len(data), 0)
        else:
            client.complete(0 if setup[0] & 0x80 else wlen, 0)

    # -- control channels ----------------------------------------------------

    def on_signal(self, signum):
        if signum in (signal.SIGTERM, signal.SIGINT):
            log('stopping (signal %d)' % signum)
            self.loop.quit()
        elif signum == signal.SIGUSR1:
            self.do_unplug()
        elif signum == signal.SIGUSR2:
            self.do_plug()
        return True

    def open_control_fifo(self):
        path = self.path('control')
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.mkfifo(path, 0o600)
        # O_RDWR keeps a writer open, so writers coming and going never cause EOF
        self.control_fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self.control_buf = b''
        GLib.io_add_watch(self.control_fd, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN, self.on_control)

    def on_control(self, fd, _cond):
        try:
            self.control_buf += os.read(fd, 4096)
        except BlockingIOError:
            return True
        while b'\n' in self.control_buf:
            line, self.control_buf = self.control_buf.split(b'\n', 1)
            cmd = line.strip().decode(errors='replace')
            if cmd == 'unplug':
                self.do_unplug()
            elif cmd == 'plug':
                self.do_plug()
            elif cmd == 'wedge':
                self.do_wedge()
            elif cmd:
                log('control: unknown command %r (use "unplug", "plug" or "wedge")' % cmd)
        return True

    # -- main ----------------------------------------------------------------

    def run(self):
        os.makedirs(self.state_dir, exist_ok=True)
        for name in ('ready', 'env', 'state', 'pid'):
            try:
                os.unlink(self.path(name))
            except FileNotFoundError:
                pass
        write_atomic(self.path('pid'), '%d\n' % os.getpid())

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self.on_signal, signum)

        try:
            self.testbed = UMockdev.Testbed.new()
            self.root_dir = self.testbed.get_root_dir()
            self.do_plug(initial=True)
            self.start_simulator()
            self.open_control_fifo()
            GLib.timeout_add(250, self.forget_closed_clients)

            write_atomic(self.path('env'),
                         'export UMOCKDEV_DIR=%s\nexport LD_PRELOAD=%s\n' % (
                             shlex.quote(self.root_dir), shlex.quote(find_preload_library())))
            write_atomic(self.path('ready'), '%s\n' % self.plug.devnode)
            log('ready: model %s, test bed %s, state in %s' % (self.args.model, self.root_dir, self.state_dir))
            self.loop.run()
        finally:
            self.cleanup()
        return self.exit_code

    def cleanup(self):
        for name in ('ready', 'env', 'state', 'control', 'pid'):
            try:
                os.unlink(self.path(name))
            except OSError:
                pass
        self.stop_simulator()
        if self.control_fd is not None:
            os.close(self.control_fd)
        if self.testbed is not None:
            if self.plug is not None and self.plug.alive:
                try:
                    self.testbed.detach_ioctl(self.plug.devnode)
                except GLib.Error:
                    pass
            self.testbed.clear()
            self.testbed = None
        if self.root_dir and os.path.isdir(self.root_dir):
            shutil.rmtree(self.root_dir, ignore_errors=True)
        log('stopped')


def ensure_preloaded():
    """Run this process under umockdev's preload library, as umockdev's own tests do.

    Testbed.uevent() looks the device up through libudev; only under the preload
    library does that see the test bed's /sys, so without it no add/remove uevent
    reaches the program under test and replugging goes unnoticed.
    """
    if 'libumockdev-preload' in os.environ.get('LD_PRELOAD', ''):
        return
    env = dict(os.environ)
    env['LD_PRELOAD'] = find_preload_library()
    env.pop('UMOCKDEV_DIR', None)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main():
    global VERBOSE
    # a test runner may start us with these blocked (the mask is inherited); then neither
    # SIGTERM nor unplug/plug would ever arrive
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2})
    ensure_preloaded()
    ap = argparse.ArgumentParser(description='Emulated USB ID-card reader (umockdev + simulator process).')
    ap.add_argument('--model', required=True, type=str.lower, choices=sorted(MODELS),
                    help='reader model, VID:PID')
    ap.add_argument('--state-dir', required=True, help='directory for env, pid, ready, state and control')
    ap.add_argument('--simulator', required=True,
                    help='shell command line of the card simulator (raw SAM_V bytes on stdin/stdout)')
    ap.add_argument('--simulator-control',
                    help='the simulator\'s control FIFO: on unplug it is told "power-cycle" (the reader forgets '
                         'answers it had not sent, as a real one losing power does)')
    ap.add_argument('--device-file', help='umockdev description to use instead of the model\'s own file')
    ap.add_argument('-v', '--verbose', action='store_true', help='log every transfer on stderr')
    args = ap.parse_args()
    VERBOSE = args.verbose
    return Emulator(args).run()


if __name__ == '__main__':
    sys.exit(main())
