"""Sockets: AF_UNIX now (unix.py); inet comes later."""
