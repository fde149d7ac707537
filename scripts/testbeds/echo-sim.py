#!/usr/bin/python3
"""Minimal card simulator for the emulated reader: raw SAM_V frames on stdin/stdout.

find card (20 01)       -> SW3 9F with 4 bytes
read 30 10              -> a 2321-byte frame (LEN 0x090A) whose data contains the preamble
anything else           -> success (SW3 90), LEN 0x0004
Frames with a wrong checksum are answered with SW3 10.
"""

import os
import sys

PREAMBLE = b'\xAA\xAA\xAA\x96\x69'


def frame(body):
    """body = SW1 SW2 SW3 [data]; adds preamble, LEN and CHK."""
    ln = len(body) + 1
    head = bytes([ln >> 8, ln & 0xFF])
    chk = 0
    for b in head + body:
        chk ^= b
    return PREAMBLE + head + body + bytes([chk])


def answer(cmd, para):
    if (cmd, para) == (0x20, 0x01):
        return frame(b'\x00\x00\x9F\x00\x00\x00\x00')
    if (cmd, para) == (0x30, 0x10):
        text = bytes((i * 7) & 0xFF for i in range(256))
        photo = bytearray((i * 13 + 5) & 0xFF for i in range(1024))
        photo[100:105] = PREAMBLE            # the preamble inside the data
        finger = bytearray((i * 3 + 1) & 0xFF for i in range(1024))
        finger[0:7] = PREAMBLE + b'\x09\x0A'  # even a whole fake header
        body = (b'\x00\x00\x90' + (256).to_bytes(2, 'big') + (1024).to_bytes(2, 'big')
                + (1024).to_bytes(2, 'big') + text + bytes(photo) + bytes(finger))
        return frame(body)
    return frame(b'\x00\x00\x90')


def main():
    inp = sys.stdin.fileno()
    out = sys.stdout.fileno()
    buf = b''
    while True:
        data = os.read(inp, 65536)
        if not data:
            return 0
        buf += data
        while True:
            i = buf.find(PREAMBLE)
            if i < 0:
                buf = buf[-4:]
                break
            buf = buf[i:]
            if len(buf) < 7:
                break
            total = 7 + (buf[5] << 8 | buf[6])
            if len(buf) < total:
                break
            req, buf = buf[:total], buf[total:]
            chk = 0
            for b in req[5:-1]:
                chk ^= b
            if chk != req[-1] or total < 10:
                reply = frame(b'\x00\x00\x10')
            else:
                reply = answer(req[7], req[8])
            os.write(out, reply)


if __name__ == '__main__':
    sys.exit(main())
