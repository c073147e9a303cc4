"""Loaded by subprocesses the tests start (via PYTHONPATH): refuse sockets to anything but loopback,
so a CLI run that tried the network would fail the test instead of silently downloading."""

import ipaddress
import socket

_connect = socket.socket.connect


def _loopback_only(self, address):  # type: ignore[no-untyped-def]
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"network blocked in tests: connect to {host}")
    return _connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]
